import { combinePerplexity } from "../scoring/perplexity.js";
import type { Db } from "../store/database.js";

export interface SuiteFigures {
  suite: string;
  n: number;
  failed: number;
  /** Means of per-item metrics (exact_match, rouge*_f1, …), or ppl figures for perplexity suites. */
  metrics: Record<string, number>;
}

export interface VariantSummary {
  name: string;
  precision: string;
  baseline: boolean;
  status: string;
  error: string | null;
  modelBytes: number;
  suites: SuiteFigures[];
}

export interface RunSummary {
  runId: number;
  plan: string;
  status: string;
  /** The slice this run holds, when the plan was split with --shard (0-based index). */
  shard: { index: number; count: number } | undefined;
  variants: VariantSummary[];
}

const PPL_PARTS = new Set(["nll_sum", "nll2_sum", "tokens"]);

/** Aggregates a stored run per variant × suite, in SQL, from the database alone. */
export function summarizeRun(db: Db, runId: number): RunSummary {
  const run = db
    .prepare("SELECT id, plan_name, status, shard_index, shard_count FROM runs WHERE id = ?")
    .get(runId) as
    | { id: number; plan_name: string; status: string; shard_index: number; shard_count: number }
    | undefined;
  if (!run) throw new Error(`run ${runId} not found`);
  const variants = db
    .prepare(
      "SELECT id, name, precision, is_baseline, status, error, model_bytes FROM variants WHERE run_id = ? ORDER BY id",
    )
    .all(runId) as Array<{
    id: number;
    name: string;
    precision: string;
    is_baseline: number;
    status: string;
    error: string | null;
    model_bytes: number;
  }>;
  const suiteIds = (
    db.prepare("SELECT suite_id FROM suites WHERE run_id = ? ORDER BY rowid").all(runId) as Array<{
      suite_id: string;
    }>
  ).map((r) => r.suite_id);
  const counts = db.prepare(
    `SELECT suite_id, SUM(status = 'ok') AS ok, SUM(status = 'error') AS failed
     FROM results WHERE variant_id = ? GROUP BY suite_id`,
  );
  const sums = db.prepare(
    `SELECT r.suite_id, m.name, AVG(m.value) AS mean, SUM(m.value) AS total
     FROM results r JOIN metrics m ON m.result_id = r.id
     WHERE r.variant_id = ? AND r.status = 'ok' GROUP BY r.suite_id, m.name`,
  );
  return {
    runId: run.id,
    plan: run.plan_name,
    status: run.status,
    shard: run.shard_count > 1 ? { index: run.shard_index, count: run.shard_count } : undefined,
    variants: variants.map((v) => {
      const bySuite = new Map<string, SuiteFigures>(
        suiteIds.map((s) => [s, { suite: s, n: 0, failed: 0, metrics: {} }]),
      );
      for (const c of counts.all(v.id) as Array<{ suite_id: string; ok: number; failed: number }>) {
        const s = bySuite.get(c.suite_id);
        if (s) Object.assign(s, { n: c.ok, failed: c.failed });
      }
      const parts = new Map<string, { nllSum: number; nll2Sum: number; count: number }>();
      for (const m of sums.all(v.id) as Array<{
        suite_id: string;
        name: string;
        mean: number;
        total: number;
      }>) {
        const s = bySuite.get(m.suite_id);
        if (!s) continue;
        if (PPL_PARTS.has(m.name)) {
          const p = parts.get(m.suite_id) ?? { nllSum: 0, nll2Sum: 0, count: 0 };
          if (m.name === "nll_sum") p.nllSum = m.total;
          if (m.name === "nll2_sum") p.nll2Sum = m.total;
          if (m.name === "tokens") p.count = m.total;
          parts.set(m.suite_id, p);
        } else {
          s.metrics[m.name] = m.mean;
        }
      }
      for (const [suite, p] of parts) {
        const estimate = combinePerplexity([p]);
        const s = bySuite.get(suite);
        if (s)
          Object.assign(s.metrics, {
            ppl: estimate.ppl,
            ppl_error: estimate.pplError,
            ppl_tokens: estimate.tokens,
          });
      }
      return {
        name: v.name,
        precision: v.precision,
        baseline: v.is_baseline === 1,
        status: v.status,
        error: v.error,
        modelBytes: v.model_bytes,
        suites: [...bySuite.values()],
      };
    }),
  };
}

/** The headline figures of a suite, in display order. */
export function headlineMetrics(figures: SuiteFigures): Array<[string, number]> {
  const order = ["exact_match", "rouge1_f1", "rouge2_f1", "rougeL_f1", "rougeLsum_f1", "ppl"];
  return order
    .filter((k) => figures.metrics[k] !== undefined)
    .map((k) => [k, figures.metrics[k] as number]);
}

/** A plain-text table of the run for the terminal. */
export function formatSummary(summary: RunSummary): string {
  const shard = summary.shard ? `, shard ${summary.shard.index + 1}/${summary.shard.count}` : "";
  const lines = [`run ${summary.runId} (${summary.plan}${shard}): ${summary.status}`];
  for (const v of summary.variants) {
    const tag = v.baseline ? " [baseline]" : "";
    const size = `${(v.modelBytes / 1024 / 1024).toFixed(2)} MiB`;
    lines.push(
      `  ${v.name} (${v.precision}, ${size})${tag}: ${v.status}${v.error ? ` — ${v.error}` : ""}`,
    );
    for (const s of v.suites) {
      const figures = headlineMetrics(s)
        .map(([k, value]) => `${k} ${k === "ppl" ? value.toFixed(4) : value.toFixed(3)}`)
        .join("  ");
      const failed = s.failed > 0 ? `, ${s.failed} failed` : "";
      lines.push(`    ${s.suite.padEnd(18)} n=${s.n}${failed}  ${figures}`);
    }
  }
  return lines.join("\n");
}
