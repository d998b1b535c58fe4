import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { ThreadsFigure } from "./threads-choice.js";

/** What a measured thread count holds for: the same CPU, the same engine build, a model this size. */
export interface ThreadsKey {
  /** CPU model and core count, e.g. `AMD EPYC 7B13 × 2`. */
  cpu: string;
  /** The engine as the runner reports it, with its build (`…, prebuilt binary`). */
  engine: string;
  /** The model's size class (powers of two), e.g. `16–32 MiB`. */
  sizeClass: string;
}

export interface CachedThreads {
  threads: number;
  figures: ThreadsFigure[];
  /** ISO time of the measurement. */
  at: string;
}

interface CacheFile {
  version: 1;
  entries: Record<string, CachedThreads>;
}

/**
 * The cache file: `QBENCH_THREADS_CACHE` (a file path; `off` measures nothing and keeps the size
 * rule), else `$XDG_CACHE_HOME/qbench/threads.json`, else `~/.cache/qbench/threads.json`.
 */
export function threadsCachePath(
  env: Readonly<Record<string, string | undefined>>,
  home: string = homedir(),
): string | undefined {
  const set = env.QBENCH_THREADS_CACHE;
  if (set === "off") return undefined;
  if (set) return set;
  const base = env.XDG_CACHE_HOME || join(home, ".cache");
  return join(base, "qbench", "threads.json");
}

/** Powers of two: a model of 20 MiB is in `16–32 MiB`. */
export function sizeClass(bytes: number): string {
  if (!(Number.isFinite(bytes) && bytes >= 0)) {
    throw new TypeError(`model bytes must be a number ≥ 0, got ${bytes}`);
  }
  const low = 2 ** Math.floor(Math.log2(Math.max(1, bytes)));
  return `${formatBytes(low)}–${formatBytes(low * 2)}`;
}

export function keyOf(key: ThreadsKey): string {
  return `${key.cpu} | ${key.engine} | ${key.sizeClass}`;
}

/** The cached answer for this key; none when the file is missing or unreadable (it is rewritten). */
export function readThreadsCache(file: string, key: ThreadsKey): CachedThreads | undefined {
  return readEntries(file)[keyOf(key)];
}

/** Stores the answer for this key beside the others, atomically (a rename). */
export function writeThreadsCache(file: string, key: ThreadsKey, entry: CachedThreads): void {
  const content: CacheFile = { version: 1, entries: { ...readEntries(file), [keyOf(key)]: entry } };
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(temp, file);
}

function readEntries(file: string): Record<string, CachedThreads> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return {};
  }
  const entries = (parsed as Partial<CacheFile> | null)?.entries;
  if ((parsed as Partial<CacheFile> | null)?.version !== 1 || typeof entries !== "object")
    return {};
  return Object.fromEntries(
    Object.entries(entries ?? {}).filter(([, e]) => Number.isInteger(e?.threads) && e.threads > 0),
  );
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value} ${units[unit]}`;
}
