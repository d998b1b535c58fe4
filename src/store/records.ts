/**
 * What the store's read side returns: plain records of the `runs`, `variants` and `suites` rows,
 * the per-item facts the verdict judges, and one aggregation per variant × suite. `verdict/`,
 * `report/`, the run summary and the history command take these and never a database.
 */

/** A `runs` row with its variants (in id order) and suites (in stored order). */
export interface RunRecord {
  id: number;
  planName: string;
  planFile: string;
  planHash: string;
  /** The plan as it ran (its gates included). */
  planJson: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  resumedCount: number;
  /** The slice this run holds (0-based; count 1 when the plan was not split). */
  shard: { index: number; count: number };
  /** Columns named as stored: qbench_version, host, gpu, …, shard_index, shard_count. */
  provenance: Record<string, string | number | null>;
  variants: VariantRecord[];
  suites: SuiteRecord[];
}

/** The run to act on, as the commands name it. */
export interface RunHead {
  id: number;
  status: string;
  planName: string;
}

export interface SuiteRecord {
  id: string;
  description: string;
  file: string;
  /** The suite's metric declarations as stored (JSON). */
  metrics: string;
}

/** A `variants` row. Columns of later migrations are null where the database lacks them. */
export interface VariantRecord {
  id: number;
  name: string;
  precision: string;
  isBaseline: boolean;
  status: string;
  error: string | null;
  stderrTail: string | null;
  modelPath: string;
  modelSha256: string;
  modelBytes: number;
  parameterCount: number | null;
  bitsPerWeight: number | null;
  tensorTypes: Record<string, { count: number; bytes: number }>;
  backendRequested: string;
  backend: string | null;
  device: string | null;
  runner: string;
  runnerVersion: string | null;
  engine: string | null;
  threads: number;
  /** Why that many: `plan sets 2`, the size rule, or the measured speeds (null before migration 012). */
  threadsReason?: string | null;
  contextSize: number;
  /** What the engine allocated; null on databases from before it was recorded. */
  engineContextSize: number | null;
  loadMs: number | null;
  peakRssBytes: number | null;
  engineDeviceBytes: number | null;
  /** The device's total memory, as the engine reports it (GPU backends). */
  engineDeviceTotalBytes: number | null;
  devicePeakBytes: number | null;
  processDevicePeakBytes: number | null;
  memoryNotes: string | null;
  /** The KV cache's types; null where the engine's default (f16) was used or not recorded. */
  kvCacheK: string | null;
  kvCacheV: string | null;
  /** The engine's own figures for its buffers (llama.cpp's load log), where it reports them. */
  engineModelBytes: number | null;
  engineKvBytes: number | null;
  engineComputeBytes: number | null;
  /** Energy over the measured generations, and where it was measured. */
  energyJoules: number | null;
  energySeconds: number | null;
  energyTokens: number | null;
  energySource: string | null;
}

/** Per-token figures of one variant on one perplexity suite, keyed by item for pairing. */
export interface TokenFacts {
  items: Map<string, { logprobs: Float32Array; kld?: Float32Array; sameTop?: Uint8Array }>;
  /**
   * Where the KLD is a top-K lower bound: the tokens so scored and the baseline mass its kept
   * entries cover, summed over them (mean coverage = mass / tokens).
   */
  kldBound?: { tokens: number; coveredMass: number };
}

/** What the verdict and the report read of one variant's result rows: the part a digest keeps. */
export interface ResultFacts {
  failedItems: number;
  /** suite → metric → item → value (mean over repeats). */
  quality: Map<string, Map<string, ReadonlyMap<string, number>>>;
  /** suite → item → mean completion tokens. */
  completionTokens: Map<string, ReadonlyMap<string, number>>;
  /** Per generation, each sorted ascending (only percentiles are read from them). */
  ttftMs: Float64Array;
  decodeTps: Float64Array;
  /** promptTokens / (TTFT − tokenization). */
  prefillTps: Float64Array;
  /** What the harness waited for a generation, IPC included (runner time where not recorded). */
  e2eMs: Float64Array;
  /** Summed time of every stored result (generation and scoring). */
  busyMs: number;
  perplexity: Map<string, TokenFacts>;
}

/** The part of a variant's record the verdict reads, with its per-item facts. */
export interface VariantFacts
  extends ResultFacts,
    Pick<
      VariantRecord,
      | "id"
      | "name"
      | "precision"
      | "isBaseline"
      | "status"
      | "error"
      | "modelBytes"
      | "peakRssBytes"
    >,
    /** Absent in verdicts built by hand (tests); null where not measured. */
    Partial<
      Pick<
        VariantRecord,
        | "engineModelBytes"
        | "engineKvBytes"
        | "engineComputeBytes"
        | "engineContextSize"
        | "engineDeviceTotalBytes"
        | "energyJoules"
        | "energyTokens"
      >
    > {}

export interface RunFacts {
  runId: number;
  planName: string;
  planJson: string;
  status: string;
  startedAt: string;
  variants: VariantFacts[];
}

/** One variant on one suite, aggregated over its stored results. */
export interface SuiteAggregate {
  suite: string;
  /** Results stored ok, and failed. */
  ok: number;
  failed: number;
  /** Per metric, its mean over the ok results and its sum (perplexity adds up per-chunk sums). */
  means: Record<string, number>;
  sums: Record<string, number>;
}

/** A run's results aggregated per variant × suite: what the summary, report and history show. */
export interface RunAggregate {
  run: RunRecord;
  /** variant id → one entry per suite of the run, in the run's suite order. */
  suites: Map<number, SuiteAggregate[]>;
}
