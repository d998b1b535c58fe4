import type { Db } from "./database.js";
import type { RunHead, RunRecord, SuiteRecord, VariantRecord } from "./records.js";

function columnsOf(db: Db, table: string): Set<string> {
  return new Set(
    (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name),
  );
}

/** A column when this database has it, else NULL under the same name. */
function optional(columns: Set<string>, name: string): string {
  return columns.has(name) ? name : `NULL AS ${name}`;
}

const PROVENANCE = [
  "qbench_version",
  "node_version",
  "host",
  "platform",
  "cpu",
  "cpu_cores",
  "memory_bytes",
  "gpu",
  "gpu_driver",
  "git_commit",
  "git_dirty",
  "shard_index",
  "shard_count",
];

/** Columns of `variants` by the name VariantRecord gives them; later migrations' may be missing. */
export const VARIANT_COLUMNS = {
  id: "id",
  name: "name",
  precision: "precision",
  isBaseline: "is_baseline",
  status: "status",
  error: "error",
  stderrTail: "stderr_tail",
  modelPath: "model_path",
  modelSha256: "model_sha256",
  modelBytes: "model_bytes",
  parameterCount: "parameter_count",
  bitsPerWeight: "bits_per_weight",
  tensorTypes: "tensor_types",
  backendRequested: "backend_requested",
  backend: "backend",
  device: "device",
  runner: "runner",
  runnerVersion: "runner_version",
  engine: "engine",
  threads: "threads",
  threadsReason: "threads_reason",
  contextSize: "context_size",
  engineContextSize: "engine_context_size",
  loadMs: "load_ms",
  peakRssBytes: "peak_rss_bytes",
  engineDeviceBytes: "engine_device_bytes",
  engineDeviceTotalBytes: "engine_device_total_bytes",
  devicePeakBytes: "device_peak_bytes",
  processDevicePeakBytes: "process_device_peak_bytes",
  memoryNotes: "memory_notes",
  kvCacheK: "kv_cache_k",
  kvCacheV: "kv_cache_v",
  engineModelBytes: "engine_model_bytes",
  engineKvBytes: "engine_kv_bytes",
  engineComputeBytes: "engine_compute_bytes",
  energyJoules: "energy_joules",
  energySeconds: "energy_seconds",
  energyTokens: "energy_tokens",
  energySource: "energy_source",
} as const satisfies Record<keyof VariantRecord, string>;

type VariantRow = Omit<VariantRecord, "isBaseline" | "tensorTypes"> & {
  isBaseline: number;
  tensorTypes: string | null;
};

/** Reads a run with its variants (in id order) and its suites (in stored order). */
export function readRun(db: Db, runId: number): RunRecord {
  const runColumns = columnsOf(db, "runs");
  const run = db
    .prepare(
      `SELECT id, plan_name, plan_file, plan_hash, plan_json, status, started_at, finished_at,
         resumed_count, ${PROVENANCE.map((c) => optional(runColumns, c)).join(", ")}
       FROM runs WHERE id = ?`,
    )
    .get(runId) as
    | ({
        id: number;
        plan_name: string;
        plan_file: string;
        plan_hash: string;
        plan_json: string;
        status: string;
        started_at: string;
        finished_at: string | null;
        resumed_count: number;
      } & Record<string, string | number | null>)
    | undefined;
  if (!run) throw new Error(`run ${runId} not found`);
  const variantColumns = columnsOf(db, "variants");
  const select = Object.entries(VARIANT_COLUMNS)
    .map(([key, column]) => (variantColumns.has(column) ? `${column} AS ${key}` : `NULL AS ${key}`))
    .join(", ");
  const variants = (
    db
      .prepare(`SELECT ${select} FROM variants WHERE run_id = ? ORDER BY id`)
      .all(runId) as VariantRow[]
  ).map(
    (v): VariantRecord => ({
      ...v,
      isBaseline: v.isBaseline === 1,
      tensorTypes: JSON.parse(v.tensorTypes || "{}"),
    }),
  );
  const suites = db
    .prepare(
      "SELECT suite_id AS id, description, file, metrics FROM suites WHERE run_id = ? ORDER BY rowid",
    )
    .all(runId) as SuiteRecord[];
  return {
    id: run.id,
    planName: run.plan_name,
    planFile: run.plan_file,
    planHash: run.plan_hash,
    planJson: run.plan_json,
    status: run.status,
    startedAt: run.started_at,
    finishedAt: run.finished_at,
    resumedCount: run.resumed_count,
    shard: { index: Number(run.shard_index ?? 0), count: Number(run.shard_count ?? 1) },
    provenance: Object.fromEntries(PROVENANCE.map((c) => [c, run[c] ?? null])),
    variants,
    suites,
  };
}

/** The run named, else the newest; undefined when there is none. */
export function findRun(db: Db, runId: number | undefined): RunHead | undefined {
  const select = "SELECT id, status, plan_name AS planName FROM runs";
  return (
    runId === undefined
      ? db.prepare(`${select} ORDER BY id DESC LIMIT 1`).get()
      : db.prepare(`${select} WHERE id = ?`).get(runId)
  ) as RunHead | undefined;
}

/** Ids of the newest `limit` complete runs of a plan before run `before` (all when omitted), oldest first. */
export function completeRuns(
  db: Db,
  planName: string,
  limit: number,
  before = Number.MAX_SAFE_INTEGER,
): number[] {
  return (
    db
      .prepare(
        `SELECT id FROM runs WHERE plan_name = ? AND id < ? AND status = 'complete'
         ORDER BY id DESC LIMIT ?`,
      )
      .all(planName, before, Math.max(0, limit)) as Array<{ id: number }>
  )
    .map((r) => r.id)
    .reverse();
}

/** How many rows the main tables hold (the bench prints them). */
export function countRows(db: Db): { runs: number; results: number; metrics: number } {
  const count = (table: string) =>
    (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { runs: count("runs"), results: count("results"), metrics: count("metrics") };
}
