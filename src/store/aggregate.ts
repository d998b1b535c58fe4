import type { Db } from "./database.js";
import type { RunAggregate, RunRecord, SuiteAggregate } from "./records.js";

/** Which metrics to aggregate: all, or only those a history chart shows (gated ones, perplexity's parts). */
export type AggregateScope = "all" | "headline";

const HEADLINE = `AND (m.name = 'exact_match' OR m.name GLOB 'rouge*_f1'
  OR m.name IN ('nll_sum', 'nll2_sum', 'tokens'))`;

/**
 * A run's results per variant × suite of the run, in SQL: counts of ok and failed results, and
 * each metric's mean and sum over the ok ones (failed items store no metrics).
 */
export function aggregateRun(db: Db, run: RunRecord, scope: AggregateScope = "all"): RunAggregate {
  const counts = db.prepare(
    `SELECT suite_id, SUM(status = 'ok') AS ok, SUM(status = 'error') AS failed
     FROM results WHERE variant_id = ? GROUP BY suite_id`,
  );
  const metrics = db.prepare(
    `SELECT r.suite_id, m.name, AVG(m.value) AS mean, SUM(m.value) AS total
     FROM results r JOIN metrics m ON m.result_id = r.id
     WHERE r.variant_id = ? AND r.status = 'ok' ${scope === "headline" ? HEADLINE : ""}
     GROUP BY r.suite_id, m.name`,
  );
  const suites = new Map<number, SuiteAggregate[]>();
  for (const v of run.variants) {
    const bySuite = new Map<string, SuiteAggregate>(
      run.suites.map((s) => [s.id, { suite: s.id, ok: 0, failed: 0, means: {}, sums: {} }]),
    );
    for (const c of counts.all(v.id) as Array<{ suite_id: string; ok: number; failed: number }>) {
      const s = bySuite.get(c.suite_id);
      if (s) Object.assign(s, { ok: c.ok, failed: c.failed });
    }
    for (const m of metrics.all(v.id) as Array<{
      suite_id: string;
      name: string;
      mean: number;
      total: number;
    }>) {
      const s = bySuite.get(m.suite_id);
      if (!s) continue;
      s.means[m.name] = m.mean;
      s.sums[m.name] = m.total;
    }
    suites.set(v.id, [...bySuite.values()]);
  }
  return { run, suites };
}
