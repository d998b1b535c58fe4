import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type CardConfig, cardConfigs, matchFiles, pickConfig } from "./readme-configs.js";
import { isTableFile } from "./table.js";

/** Hugging Face's split keywords (datasets' data_files.py): a file named for any of them is that split's. */
const SPLIT_ALIASES: Record<string, string[]> = {
  train: ["train", "training"],
  validation: ["validation", "valid", "dev", "val"],
  test: ["test", "testing", "eval", "evaluation"],
};

/** HF's separators around a keyword in a file name (its NON_WORDS_CHARS). */
const SEP = "[-._ 0-9]";

/**
 * The data files of one split among a dataset's files (paths relative to its root, `/`-separated),
 * by the layouts Hugging Face writes and reads: a config's files are in the folder named for it
 * (`ARC-Easy/test-00000-of-00001.parquet`; the Hub's Parquet conversion `default/test/0000.parquet`),
 * a single config's at the top or under `data/`; within those, a folder named for the split or a
 * file named for it (`data/test-00000-of-00001.parquet`, `test.jsonl`, `wikitext-2-raw-v1-test.parquet`).
 * Sorted, so shards are read in order. Throws when no config is named and several hold the split.
 * Where the dataset card (README.md, its text given) declares `configs:`, those are honoured
 * instead (datasets' metadata configs), the config by name, the split's files by its patterns.
 */
export function splitFiles(
  paths: readonly string[],
  config: string | undefined,
  split: string,
  readme?: string,
): string[] {
  const configs = readme === undefined ? undefined : cardConfigs(readme);
  if (configs !== undefined) return cardSplitFiles(paths, pickConfig(configs, config), split);
  return inferredSplitFiles(paths, config, split);
}

/**
 * A split's files as the dataset card's config declares them: its data_files patterns matched
 * (globs as huggingface_hub's), or with a data_dir alone, today's inference inside that folder.
 */
function cardSplitFiles(paths: readonly string[], config: CardConfig, split: string): string[] {
  if (config.dataFiles !== undefined) {
    const patterns = config.dataFiles[split];
    return patterns === undefined ? [] : matchFiles(paths, patterns).filter(isTableFile);
  }
  const prefix = `${config.dataDir}/`;
  const inside = paths.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
  return inferredSplitFiles(inside, undefined, split).map((p) => prefix + p);
}

function inferredSplitFiles(
  paths: readonly string[],
  config: string | undefined,
  split: string,
): string[] {
  const keywords = (SPLIT_ALIASES[split] ?? [split]).map(escapeRegex);
  const inName = new RegExp(`(^|${SEP})(${keywords.join("|")})(${SEP}|$)`);
  const inDir = new RegExp(`(^|/)(${keywords.join("|")})/`);
  const isSplit = (path: string) => {
    const base = (path.split("/").pop() ?? "").replace(/\.[^.]+$/, "");
    return inDir.test(path) || inName.test(base);
  };
  const tables = paths.filter(isTableFile);
  const top = (path: string) => (path.includes("/") ? (path.split("/")[0] as string) : "");
  // Files of no config: at the top, under data/, or in a folder named for the split.
  const shared = (path: string) => {
    const head = top(path);
    return head === "" || head === "data" || new RegExp(`^(${keywords.join("|")})$`).test(head);
  };
  if (config !== undefined && tables.some((p) => top(p) === config)) {
    return tables.filter((p) => top(p) === config && isSplit(p.slice(config.length + 1))).sort();
  }
  if (config !== undefined) return tables.filter((p) => shared(p) && isSplit(p)).sort();
  const found = tables.filter(isSplit).sort();
  const configs = [...new Set(found.filter((p) => !shared(p)).map(top))];
  if (configs.length > 1 || (configs.length === 1 && found.some(shared))) {
    throw new Error(
      `split "${split}" is in several configs (${configs.join(", ")}): name one (dataset_name)`,
    );
  }
  return found;
}

/** Every file under a folder, relative and `/`-separated (hidden files and folders left out). */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(dir, entry.name), rel);
      else if (entry.isFile()) out.push(rel);
    }
  };
  walk(root, "");
  return out;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
