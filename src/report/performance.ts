import type { Db } from "../store/database.js";
import type { RunFacts } from "../verdict/facts.js";
import { percentileOf } from "../verdict/stats.js";
import type { StoredRun, StoredVariant } from "./stored-run.js";

/** Speed figures of one variant over its generations (items × repeats, after warm-up). */
export interface Timings {
  generations: number;
  ttft: { p50: number; p90: number; p99: number };
  /** promptTokens / (TTFT − tokenization), p50. */
  prefillTpsP50: number;
  /** (completionTokens − 1) / decode time, p50: the same figure the speed gate judges. */
  decodeTpsP50: number;
  /** What the harness waited for a generation, IPC included (runner time where not recorded). */
  e2e: { p50: number; p90: number; p99: number };
  /** Summed time of every stored result (generation and scoring), for JUnit. */
  busyMs: number;
}

const AGGREGATE = "qbench_report_timings";
const registered = new WeakSet<Db>();

/** A growable buffer of doubles: no per-value allocation while 500,000 rows stream past. */
class Values {
  private data = new Float64Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = x;
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

/** Linear-interpolation percentiles of sorted values, as percentileOf computes them; NaN when empty. */
export function percentilesOf(sorted: Float64Array, fractions: number[]): number[] {
  return fractions.map((fraction) => {
    if (sorted.length === 0) return Number.NaN;
    const p = fraction * (sorted.length - 1);
    const i = Math.floor(p);
    const w = p - i;
    return (
      (1 - w) * (sorted[i] as number) + w * (sorted[Math.min(i + 1, sorted.length - 1)] as number)
    );
  });
}

interface Collected {
  prefill: Values;
  e2e: Values;
  busyMs: number;
}

/**
 * The per-row figures stay inside SQLite's aggregate: one JS call per row, no row objects,
 * which is what makes 500,000 results cheap enough to read for every report.
 */
function register(db: Db): void {
  if (registered.has(db)) return;
  db.aggregate(AGGREGATE, {
    start: (): Collected => ({ prefill: new Values(), e2e: new Values(), busyMs: 0 }),
    // better-sqlite3 takes the SQL arity from the parameter count; its types assume one argument.
    step: ((
      acc: Collected,
      promptTokens: number | null,
      ttftMs: number | null,
      tokenizeMs: number | null,
      e2eMs: number | null,
      totalMs: number | null,
      completionTokens: number | null,
    ) => {
      if (totalMs !== null) acc.busyMs += totalMs;
      if (completionTokens === null || ttftMs === null) return acc;
      if (e2eMs !== null) acc.e2e.push(e2eMs);
      const prefillMs = ttftMs - (tokenizeMs ?? 0);
      if (promptTokens !== null && prefillMs > 0)
        acc.prefill.push((promptTokens * 1000) / prefillMs);
      return acc;
    }) as unknown as (acc: Collected) => Collected,
    result: (acc: Collected) => {
      const [p50, p90, p99] = percentilesOf(acc.e2e.sorted(), [0.5, 0.9, 0.99]);
      return JSON.stringify({
        prefillTpsP50: percentilesOf(acc.prefill.sorted(), [0.5])[0],
        e2e: { p50, p90, p99 },
        busyMs: acc.busyMs,
      });
    },
  });
  registered.add(db);
}

/** TTFT and decode speed as the verdict reads them; prefill, latency and busy time aggregated in SQL. */
export function readTimings(db: Db, run: StoredRun, facts: RunFacts): Map<string, Timings> {
  register(db);
  const rows = db
    .prepare(
      `SELECT variant_id, ${AGGREGATE}(prompt_tokens, ttft_ms, tokenize_ms,
         COALESCE(ipc_ms, total_ms), total_ms, completion_tokens) AS figures
       FROM results WHERE variant_id IN (SELECT id FROM variants WHERE run_id = ?) AND status = 'ok'
       GROUP BY variant_id`,
    )
    .all(run.id) as Array<{ variant_id: number; figures: string }>;
  const byId = new Map(rows.map((r) => [r.variant_id, JSON.parse(r.figures)]));
  const out = new Map<string, Timings>();
  for (const v of run.variants) {
    const f = facts.variants.find((x) => x.id === v.id);
    const sql = byId.get(v.id) as
      | { prefillTpsP50: number | null; e2e: Timings["e2e"]; busyMs: number }
      | undefined;
    const nan = Number.NaN;
    const [p50 = nan, p90 = nan, p99 = nan] = percentilesOf(
      Float64Array.from(f?.ttftMs ?? []).sort(),
      [0.5, 0.9, 0.99],
    );
    out.set(v.name, {
      generations: f?.ttftMs.length ?? 0,
      ttft: { p50, p90, p99 },
      prefillTpsP50: sql?.prefillTpsP50 ?? nan,
      decodeTpsP50: percentileOf(f?.decodeTps ?? [], 0.5),
      e2e: {
        p50: sql?.e2e.p50 ?? nan,
        p90: sql?.e2e.p90 ?? nan,
        p99: sql?.e2e.p99 ?? nan,
      },
      busyMs: sql?.busyMs ?? 0,
    });
  }
  return out;
}

/** A relative saving against the baseline (positive = smaller): null where either is missing. */
export function saving(value: number | null, base: number | null): number | null {
  if (value === null || base === null || base === 0 || !Number.isFinite(value)) return null;
  return 1 - value / base;
}

export function baselineOf(run: StoredRun): StoredVariant | undefined {
  return run.variants.find((v) => v.isBaseline);
}
