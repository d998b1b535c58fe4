import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { InputError, messageOf } from "../errors.js";
import { cacheRoot, HUB_REVISIONS, type HubFetched } from "./hub.js";
import { listFiles, splitFiles } from "./layout.js";
import { matchFiles } from "./readme-configs.js";
import { runSync } from "./sync-worker.js";
import { type Row, readTable } from "./table.js";

/** Where a dataset comes from, as an lm-eval task names it. */
export interface DatasetSpec {
  /** `dataset_path`: a local folder, a builder (`json`, `csv`, `parquet`) or a Hub dataset id. */
  path: string;
  /** `dataset_name`: the config. */
  name: string | undefined;
  /** `dataset_kwargs.data_files`, split → files (relative to `baseDir`). */
  dataFiles: Record<string, string[]> | undefined;
  revision: string | undefined;
  /** The task file's folder: relative paths start here. */
  baseDir: string;
  /** file:line that names the dataset, blamed when it cannot be read. */
  at: string;
}

/** The environment a Hub fetch reads, taken once where a suite is loaded. */
export interface DatasetEnv {
  cacheDir: string;
  endpoint: string;
  token: string | undefined;
  /** HF_HUB_OFFLINE / HF_DATASETS_OFFLINE: only the cache is read. */
  offline: boolean;
}

export function datasetEnv(env: NodeJS.ProcessEnv): DatasetEnv {
  const on = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);
  return {
    cacheDir: env.QBENCH_DATASETS_CACHE || join(homedir(), ".cache", "qbench", "datasets"),
    endpoint: (env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, ""),
    token: env.HF_TOKEN || undefined,
    offline: on(env.HF_HUB_OFFLINE) || on(env.HF_DATASETS_OFFLINE),
  };
}

/** lm-eval's `dataset_path` values that name a file format, not a dataset (datasets' builders). */
const BUILDERS = new Set(["json", "csv", "parquet"]);

/** The rows of each split, read from local files or the Hub (fetched into the cache). */
export function loadSplits(
  spec: DatasetSpec,
  splits: readonly string[],
  env: DatasetEnv,
): Map<string, Row[]> {
  const wanted = [...new Set(splits)];
  const local = localRoot(spec);
  if (spec.dataFiles !== undefined) {
    const base = local ?? spec.baseDir;
    return new Map(
      wanted.map((split) => {
        const files = spec.dataFiles?.[split];
        if (files === undefined) {
          throw new InputError("BAD_SUITE", `dataset_kwargs.data_files has no split "${split}"`, {
            location: spec.at,
          });
        }
        return [split, expand(base, files, spec).flatMap((f) => readTable(f, spec.at))];
      }),
    );
  }
  if (local !== undefined) return fromFolder(local, spec, wanted, local);
  if (BUILDERS.has(spec.path)) {
    throw new InputError(
      "BAD_SUITE",
      `dataset_path "${spec.path}" needs dataset_kwargs.data_files`,
      {
        location: spec.at,
      },
    );
  }
  return fromHub(spec, wanted, env);
}

/**
 * data_files entries as files: a plain path as named, a glob (`*`, `?`, `[`) matched against the
 * files under the base folder as huggingface_hub matches them; a glob that matches nothing is refused.
 */
function expand(base: string, entries: readonly string[], spec: DatasetSpec): string[] {
  return entries.flatMap((entry) => {
    if (!/[*?[]/.test(entry)) return [resolve(base, entry)];
    const matched = matchFiles(listFiles(base), [entry.replace(/^\.\//, "")]);
    if (matched.length === 0) {
      throw new InputError("BAD_SUITE", `data_files "${entry}" matches no file in ${base}`, {
        location: spec.at,
      });
    }
    return matched.map((f) => join(base, ...f.split("/")));
  });
}

/** The local folder `dataset_path` names, if it is one (relative to the task file). */
function localRoot(spec: DatasetSpec): string | undefined {
  if (BUILDERS.has(spec.path)) return undefined;
  const path = isAbsolute(spec.path) ? spec.path : resolve(spec.baseDir, spec.path);
  if (existsSync(path) && statSync(path).isDirectory()) return path;
  if (spec.path.startsWith(".") || isAbsolute(spec.path)) {
    throw new InputError("BAD_SUITE", `dataset_path: no folder ${path}`, { location: spec.at });
  }
  return undefined;
}

function fromFolder(
  root: string,
  spec: DatasetSpec,
  splits: string[],
  shown: string,
): Map<string, Row[]> {
  const paths = listFiles(root);
  const readme = readCard(root);
  return new Map(
    splits.map((split) => {
      const files = filesOf(paths, spec, split, readme);
      if (files.length === 0) {
        const config = spec.name === undefined ? "" : ` (config ${spec.name})`;
        throw new InputError(
          "BAD_SUITE",
          `no data files for split "${split}"${config} in ${shown}`,
          {
            location: spec.at,
          },
        );
      }
      return [split, files.flatMap((f) => readTable(join(root, ...f.split("/")), spec.at))];
    }),
  );
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

function fromHub(spec: DatasetSpec, splits: string[], env: DatasetEnv): Map<string, Row[]> {
  if (!HUB_ID.test(spec.path) || spec.path.includes("..")) {
    throw new InputError(
      "BAD_SUITE",
      `dataset_path "${spec.path}" is neither a local folder nor a Hub dataset id`,
      {
        location: spec.at,
      },
    );
  }
  const revisions = spec.revision === undefined ? HUB_REVISIONS : [spec.revision];
  // A dataset fetched once is read from the cache: runs repeat offline, on the same files.
  for (const revision of revisions) {
    const root = cacheRoot(env.cacheDir, spec.path, revision);
    if (!existsSync(root)) continue;
    const paths = listFiles(root);
    const readme = readCard(root);
    if (splits.every((split) => filesOf(paths, spec, split, readme).length > 0)) {
      return fromFolder(root, spec, splits, `${spec.path} (cached in ${root})`);
    }
  }
  if (env.offline) {
    throw new InputError(
      "BAD_SUITE",
      `dataset ${spec.path} is not in the cache ${env.cacheDir} and the Hub is off (HF_HUB_OFFLINE)`,
      {
        location: spec.at,
      },
    );
  }
  let fetched: HubFetched;
  try {
    fetched = runSync({
      kind: "hub",
      repo: spec.path,
      config: spec.name,
      splits,
      cacheDir: env.cacheDir,
      endpoint: env.endpoint,
      token: env.token,
      timeoutMs: 300_000,
      ...(spec.revision === undefined ? {} : { revision: spec.revision }),
    }) as HubFetched;
  } catch (error) {
    throw new InputError("BAD_SUITE", `cannot fetch the dataset: ${messageOf(error)}`, {
      location: spec.at,
      cause: error,
    });
  }
  return fromFolder(fetched.root, spec, splits, `${spec.path} (fetched into ${fetched.root})`);
}

/** The dataset card at a dataset's root (README.md), whose `configs:` say where the splits are. */
function readCard(root: string): string | undefined {
  const path = join(root, "README.md");
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

function filesOf(
  paths: readonly string[],
  spec: DatasetSpec,
  split: string,
  readme: string | undefined,
): string[] {
  try {
    return splitFiles(paths, spec.name, split, readme);
  } catch (error) {
    throw new InputError("BAD_SUITE", `${spec.path}: ${messageOf(error)}`, {
      location: spec.at,
      cause: error,
    });
  }
}
