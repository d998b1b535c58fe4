/** What the store's write side takes: a run, its variants, their results. */
import { VARIANT_COLUMNS } from "./read-run.js";
import type { VariantRecord } from "./records.js";

export interface Provenance {
  qbenchVersion: string;
  nodeVersion: string;
  host: string;
  platform: string;
  cpu: string;
  cpuCores: number;
  memoryBytes: number;
  gpu: string | null;
  gpuDriver: string | null;
  gitCommit: string | null;
  gitDirty: boolean | null;
}

export interface NewRun {
  shard?: { index: number; count: number };
  planName: string;
  planFile: string;
  planHash: string;
  planJson: string;
  provenance: Provenance;
  /** `pid@host` of the process writing it (see claimRun). */
  writer?: string;
}

export interface NewVariant {
  name: string;
  precision: string;
  isBaseline: boolean;
  modelPath: string;
  modelSha256: string;
  modelBytes: number;
  architecture: string | null;
  parameterCount: number | null;
  bitsPerWeight: number | null;
  tensorTypes: Record<string, { count: number; bytes: number }>;
  backendRequested: string;
  runner: string;
  threads: number;
  contextSize: number;
}

export interface ResultRow {
  suiteId: string;
  itemId: string;
  repeat: number;
  status: "ok" | "error";
  output?: string | null;
  error?: string | null;
  errorKind?: string | null;
  stderrTail?: string | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  ttftMs?: number | null;
  tokenizeMs?: number | null;
  decodeMs?: number | null;
  totalMs?: number | null;
  ipcMs?: number | null;
  finishReason?: string | null;
  metrics: Record<string, number>;
  tokens?: TokenScores;
}

/** Per-token figures of a perplexity item (see migration 002). */
export interface TokenScores {
  tokensHash: string;
  logprobs: Float32Array;
  topk?: { counts: Uint16Array; ids: Int32Array; logprobs: Float32Array };
  kld?: Float32Array;
  sameTop?: Uint8Array;
}

export interface VariantRow {
  id: number;
  name: string;
  status: string;
}

/** Fields of VariantRecord a run sets as it goes (the rest are fixed when the variant is added). */
const UPDATED = [
  "threads",
  "threadsReason",
  "backend",
  "device",
  "runnerVersion",
  "engine",
  "loadMs",
  "engineContextSize",
  "error",
  "stderrTail",
  "peakRssBytes",
  "engineDeviceBytes",
  "engineDeviceTotalBytes",
  "devicePeakBytes",
  "processDevicePeakBytes",
  "kvCacheK",
  "kvCacheV",
  "engineModelBytes",
  "engineKvBytes",
  "engineComputeBytes",
  "energyJoules",
  "energySeconds",
  "energyTokens",
  "energySource",
] as const satisfies readonly (keyof VariantRecord)[];

/** What a run sets on a variant as it runs: its load, its end, its figures. */
export type VariantUpdate = Pick<VariantRecord, (typeof UPDATED)[number]> & {
  status: "running" | "complete" | "failed";
  memoryNotes: string;
  warmupRuns: number;
  deviceIdleBytes: number | null;
  memorySamples: number;
  serverLog: string;
};

/** The `variants` column of each field of VariantUpdate. */
export const VARIANT_UPDATE_COLUMNS: Readonly<Record<keyof VariantUpdate, string>> = {
  ...(Object.fromEntries(UPDATED.map((key) => [key, VARIANT_COLUMNS[key]])) as Record<
    (typeof UPDATED)[number],
    string
  >),
  status: "status",
  memoryNotes: "memory_notes",
  warmupRuns: "warmup_runs",
  deviceIdleBytes: "device_idle_bytes",
  memorySamples: "memory_samples",
  serverLog: "server_log",
};
