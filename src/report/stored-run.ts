import type { Db } from "../store/database.js";

/** The rows of `runs`, `variants` and `suites` a report shows, as stored. */
export interface StoredRun {
  id: number;
  planName: string;
  planFile: string;
  planHash: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  resumedCount: number;
  provenance: Record<string, string | number | null>;
  variants: StoredVariant[];
  suites: Array<{ id: string; description: string; file: string }>;
}

export interface StoredVariant {
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
  contextSize: number;
  /** What the engine allocated; null on databases from before it was recorded. */
  engineContextSize: number | null;
  loadMs: number | null;
  peakRssBytes: number | null;
  engineDeviceBytes: number | null;
  /** Columns of later migrations (device memory sampling): null where the database lacks them. */
  devicePeakBytes: number | null;
  processDevicePeakBytes: number | null;
  memoryNotes: string | null;
}

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

/** Reads the run, its variants (baseline first, then as stored) and its suites. */
export function readStoredRun(db: Db, runId: number): StoredRun {
  const runColumns = columnsOf(db, "runs");
  const run = db
    .prepare(
      `SELECT id, plan_name, plan_file, plan_hash, status, started_at, finished_at, resumed_count,
         ${PROVENANCE.map((c) => optional(runColumns, c)).join(", ")}
       FROM runs WHERE id = ?`,
    )
    .get(runId) as Record<string, string | number | null> | undefined;
  if (!run) throw new Error(`run ${runId} not found`);
  const variantColumns = columnsOf(db, "variants");
  const variants = (
    db
      .prepare(
        `SELECT *, ${[
          "device_peak_bytes",
          "process_device_peak_bytes",
          "memory_notes",
          "engine_context_size",
        ]
          .map((c) => optional(variantColumns, c))
          .join(", ")}
         FROM variants WHERE run_id = ? ORDER BY is_baseline DESC, id`,
      )
      .all(runId) as Array<Record<string, unknown>>
  ).map(
    (v): StoredVariant => ({
      id: v.id as number,
      name: v.name as string,
      precision: v.precision as string,
      isBaseline: v.is_baseline === 1,
      status: v.status as string,
      error: v.error as string | null,
      stderrTail: v.stderr_tail as string | null,
      modelPath: v.model_path as string,
      modelSha256: v.model_sha256 as string,
      modelBytes: v.model_bytes as number,
      parameterCount: v.parameter_count as number | null,
      bitsPerWeight: v.bits_per_weight as number | null,
      tensorTypes: JSON.parse((v.tensor_types as string) || "{}"),
      backendRequested: v.backend_requested as string,
      backend: v.backend as string | null,
      device: v.device as string | null,
      runner: v.runner as string,
      runnerVersion: v.runner_version as string | null,
      engine: v.engine as string | null,
      threads: v.threads as number,
      contextSize: v.context_size as number,
      engineContextSize: v.engine_context_size as number | null,
      loadMs: v.load_ms as number | null,
      peakRssBytes: v.peak_rss_bytes as number | null,
      engineDeviceBytes: v.engine_device_bytes as number | null,
      devicePeakBytes: v.device_peak_bytes as number | null,
      processDevicePeakBytes: v.process_device_peak_bytes as number | null,
      memoryNotes: v.memory_notes as string | null,
    }),
  );
  const suites = db
    .prepare("SELECT suite_id AS id, description, file FROM suites WHERE run_id = ? ORDER BY rowid")
    .all(runId) as StoredRun["suites"];
  return {
    id: run.id as number,
    planName: run.plan_name as string,
    planFile: run.plan_file as string,
    planHash: run.plan_hash as string,
    status: run.status as string,
    startedAt: run.started_at as string,
    finishedAt: run.finished_at as string | null,
    resumedCount: run.resumed_count as number,
    provenance: Object.fromEntries(PROVENANCE.map((c) => [c, run[c] ?? null])),
    variants,
    suites,
  };
}
