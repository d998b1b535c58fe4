/** Load sweeps in the sweep_runs / sweep_levels tables (migration 005): stored, and read back. */
import type { LevelResult, SweepOptions } from "../sweep/load-sweep.js";
import type { Percentiles } from "../sweep/stats.js";
import type { Db } from "./database.js";

export interface SweepRecord {
  variant: string;
  runId?: number;
  startedAt: string;
  finishedAt: string;
}

function spread(prefix: string, p: Percentiles | null): Record<string, number | null> {
  return {
    [`${prefix}_mean_ms`]: p?.mean ?? null,
    [`${prefix}_p50_ms`]: p?.p50 ?? null,
    [`${prefix}_p90_ms`]: p?.p90 ?? null,
    [`${prefix}_p99_ms`]: p?.p99 ?? null,
  };
}

/** Writes one sweep and its levels in one transaction; returns the sweep's id. */
export function saveSweep(
  db: Db,
  record: SweepRecord,
  options: SweepOptions,
  results: readonly LevelResult[],
): number {
  const insertRun = db.prepare(
    `INSERT INTO sweep_runs (run_id, variant, server_url, model, endpoint, max_tokens, temperature,
       prompts, requests_per_level, max_seconds_per_level, ttft_budget_ms, itl_budget_ms, seed,
       started_at, finished_at)
     VALUES (@runId, @variant, @url, @model, @endpoint, @maxTokens, @temperature, @prompts,
       @requests, @maxSeconds, @ttftBudget, @itlBudget, @seed, @startedAt, @finishedAt)`,
  );
  const columns = [
    "sweep_id",
    "ordinal",
    "concurrency",
    "request_rate",
    "requests",
    "completed",
    "failed",
    "duration_s",
    "request_throughput",
    "output_throughput",
    ...["ttft", "itl", "tpot", "e2e"].flatMap((m) =>
      ["mean", "p50", "p90", "p99"].map((s) => `${m}_${s}_ms`),
    ),
    "good_share",
    "goodput",
    "errors",
  ];
  const insertLevel = db.prepare(
    `INSERT INTO sweep_levels (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`,
  );
  return db.transaction(() => {
    const { lastInsertRowid } = insertRun.run({
      runId: record.runId ?? null,
      variant: record.variant,
      url: options.target.baseUrl,
      model: options.target.model,
      endpoint: options.target.chat ? "chat" : "completions",
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      prompts: options.prompts.length,
      requests: options.requestsPerLevel,
      maxSeconds: options.maxSecondsPerLevel,
      ttftBudget: options.budgets.ttftMs ?? null,
      itlBudget: options.budgets.itlMs ?? null,
      seed: options.seed,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
    });
    const sweepId = Number(lastInsertRowid);
    results.forEach((r, ordinal) => {
      const level = r.level;
      insertLevel.run({
        sweep_id: sweepId,
        ordinal,
        concurrency: "concurrency" in level ? level.concurrency : (level.maxConcurrency ?? null),
        request_rate: "rate" in level ? level.rate : null,
        requests: r.requests,
        completed: r.completed,
        failed: r.failed,
        duration_s: r.durationS,
        request_throughput: r.requestThroughput,
        output_throughput: r.outputThroughput,
        ...spread("ttft", r.ttft),
        ...spread("itl", r.itl),
        ...spread("tpot", r.tpot),
        ...spread("e2e", r.e2e),
        good_share: r.goodShare,
        goodput: r.goodput,
        errors: r.errors.length > 0 ? r.errors.join("\n") : null,
      });
    });
    return sweepId;
  })();
}

/** One level of a stored sweep, as the report charts it. */
export interface SweepLevel {
  variant: string;
  concurrency: number | null;
  request_rate: number | null;
  output_throughput: number;
  ttft_p90_ms: number | null;
}

/**
 * Each variant's newest sweep among those tied to the run and standalone ones (no run), its
 * levels in order; none on a database from before sweeps were stored.
 */
export function readSweepLevels(db: Db, runId: number): SweepLevel[] {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sweep_runs'")
    .get();
  if (!table) return [];
  return db
    .prepare(
      `SELECT s.variant, l.concurrency, l.request_rate, l.output_throughput, l.ttft_p90_ms
       FROM sweep_levels l JOIN sweep_runs s ON s.id = l.sweep_id
       WHERE s.id IN (SELECT MAX(id) FROM sweep_runs WHERE run_id = ? OR run_id IS NULL GROUP BY variant)
       ORDER BY s.variant, l.ordinal`,
    )
    .all(runId) as SweepLevel[];
}
