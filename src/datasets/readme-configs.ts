import { parse } from "yaml";

/** One entry of a dataset card's `configs:`: its name and, per split, its file patterns. */
export interface CardConfig {
  name: string;
  default: boolean;
  /** Per split, its patterns; absent where the card gives only a data_dir to infer splits in. */
  dataFiles: Record<string, string[]> | undefined;
  /** `data_dir`, without a trailing `/`; "" for the dataset's root. */
  dataDir: string;
}

/**
 * The `configs:` of a dataset card (README.md's YAML front matter), as `datasets` reads them
 * (`MetadataConfigs.from_dataset_card_data`): each `{config_name, data_files, data_dir, default}`,
 * `data_files` a pattern, a list of them (split `train`) or a list of `{split, path}` (path a
 * pattern or a list). Undefined when the card has no front matter or no `configs:`.
 */
export function cardConfigs(readme: string): CardConfig[] | undefined {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\s*(\r?\n|$)/.exec(readme);
  if (!match) return undefined;
  let front: unknown;
  try {
    front = parse(match[1] as string);
  } catch (error) {
    throw new Error(`README.md front matter: ${(error as Error).message}`);
  }
  if (front === null || typeof front !== "object" || !("configs" in front)) return undefined;
  const configs = (front as { configs: unknown }).configs;
  if (!Array.isArray(configs)) throw new Error("README.md configs: not a list");
  return configs.map((entry: unknown, i) => cardConfig(entry, `README.md configs[${i}]`));
}

function cardConfig(entry: unknown, at: string): CardConfig {
  if (entry === null || typeof entry !== "object") throw new Error(`${at}: not a mapping`);
  const e = entry as Record<string, unknown>;
  const name = e.config_name ?? "default";
  if (typeof name !== "string") throw new Error(`${at}.config_name: not a string`);
  const dataDir = e.data_dir === undefined ? "" : String(e.data_dir).replace(/\/+$/, "");
  const within = (p: string) => (dataDir === "" ? p : `${dataDir}/${p}`);
  const dataFiles: Record<string, string[]> = {};
  const patterns = (value: unknown, field: string): string[] => {
    const list = Array.isArray(value) ? value : [value];
    return list.map((p, k) => {
      if (typeof p !== "string" || p === "") throw new Error(`${field}[${k}]: not a pattern`);
      return within(p.replace(/^\.\//, ""));
    });
  };
  const files = e.data_files;
  if (files === undefined) {
    // data_dir alone: the splits are inferred inside it, by the layouts of a dataset's root.
    if (dataDir === "") throw new Error(`${at}: neither data_files nor data_dir`);
    return { name, default: e.default === true, dataFiles: undefined, dataDir };
  }
  if (
    typeof files === "string" ||
    (Array.isArray(files) && files.every((f) => typeof f === "string"))
  ) {
    dataFiles.train = patterns(files, `${at}.data_files`);
  } else if (Array.isArray(files)) {
    files.forEach((f: unknown, k) => {
      const field = `${at}.data_files[${k}]`;
      if (f === null || typeof f !== "object") throw new Error(`${field}: not a mapping`);
      const { split, path } = f as { split?: unknown; path?: unknown };
      if (typeof split !== "string") throw new Error(`${field}.split: not a string`);
      dataFiles[split] = [...(dataFiles[split] ?? []), ...patterns(path, `${field}.path`)];
    });
  } else if (typeof files === "object" && files !== null) {
    for (const [split, path] of Object.entries(files)) {
      dataFiles[split] = patterns(path, `${at}.data_files.${split}`);
    }
  } else {
    throw new Error(`${at}.data_files: not a pattern, a list or a mapping`);
  }
  return { name, default: e.default === true, dataFiles, dataDir };
}

/**
 * The card's config a task names (`dataset_name`), else the one marked `default: true`, the one
 * named `default`, or the only one; throws naming the configs when none of those decides.
 */
export function pickConfig(configs: readonly CardConfig[], name: string | undefined): CardConfig {
  const names = configs.map((c) => c.name).join(", ");
  if (name !== undefined) {
    const found = configs.find((c) => c.name === name);
    if (!found) throw new Error(`README.md configs has no config "${name}" (it has ${names})`);
    return found;
  }
  const chosen =
    configs.find((c) => c.default) ??
    configs.find((c) => c.name === "default") ??
    (configs.length === 1 ? configs[0] : undefined);
  if (!chosen) throw new Error(`README.md configs has several (${names}): name one (dataset_name)`);
  return chosen;
}

/**
 * A data_files pattern as fsspec's glob (huggingface_hub's HfFileSystem) matches it against
 * `/`-separated paths: `*` and `?` within one path segment, `**` across segments (`**\/` also
 * none), `[...]` a character class; hidden files and folders (a segment starting with `.`) are
 * matched only by a pattern that names them.
 */
export function globRegex(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*" && pattern[i + 1] === "*") {
      const slash = pattern[i + 2] === "/";
      out += slash ? "(?:[^/]*/)*" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) out += "\\[";
      else {
        const body = pattern.slice(i + 1, end);
        out += `[${body.startsWith("!") ? `^${body.slice(1)}` : body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

/** The files a split's patterns match, sorted; hidden ones left out unless a pattern names them. */
export function matchFiles(paths: readonly string[], patterns: readonly string[]): string[] {
  const regexes = patterns.map(globRegex);
  const hidden = (p: string) => p.split("/").some((s) => s.startsWith("."));
  const found = paths.filter((p) =>
    regexes.some((r, i) => r.test(p) && (!hidden(p) || (patterns[i] as string).includes("/."))),
  );
  return [...new Set(found)].sort();
}
