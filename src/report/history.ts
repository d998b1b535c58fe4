import { combinePerplexity } from "../scoring/perplexity.js";
import type { Db } from "../store/database.js";
import type { RunFacts } from "../verdict/facts.js";
import { primaryMetric } from "./disagreements.js";
import { mean, type PerplexityFigures, suiteMetrics } from "./quality.js";
import type { StoredRun } from "./stored-run.js";

/** One suite's key metric over the runs of a plan: a value per variant and run (null = not run). */
export interface HistorySeries {
  suite: string;
  metric: string;
  runs: number[];
  variants: Array<{ name: string; values: Array<number | null> }>;
}

/**
 * The key metric of each suite (exact match, else ROUGE-L F1, else perplexity) over the last
 * complete runs of the same plan name before this one, and this run; aggregated in SQL.
 */
export function readHistory(
  db: Db,
  run: StoredRun,
  facts: RunFacts,
  perplexity: Map<string, Map<string, PerplexityFigures>>,
  limit: number,
): HistorySeries[] {
  const past = (
    db
      .prepare(
        `SELECT id FROM runs WHERE plan_name = ? AND id < ? AND status = 'complete'
         ORDER BY id DESC LIMIT ?`,
      )
      .all(run.planName, run.id, Math.max(0, limit)) as Array<{ id: number }>
  )
    .map((r) => r.id)
    .reverse();
  const generation = db.prepare(
    `SELECT v.name, AVG(m.value) AS value FROM variants v
     JOIN results r ON r.variant_id = v.id
     JOIN metrics m ON m.result_id = r.id AND m.name = ?
     WHERE v.run_id = ? AND r.suite_id = ? GROUP BY v.name`,
  );
  const perplexityRows = db.prepare(
    `SELECT v.name, SUM(CASE WHEN m.name = 'nll_sum' THEN m.value END) AS nll,
       SUM(CASE WHEN m.name = 'tokens' THEN m.value END) AS tokens
     FROM variants v JOIN results r ON r.variant_id = v.id
     JOIN metrics m ON m.result_id = r.id AND m.name IN ('nll_sum', 'tokens')
     WHERE v.run_id = ? AND r.suite_id = ? GROUP BY v.name`,
  );
  const names = run.variants.map((v) => v.name);
  const series: HistorySeries[] = [];
  for (const suite of run.suites) {
    const ppl = perplexity.get(suite.id);
    const metric = ppl ? "perplexity" : primaryMetric(suiteMetrics(facts, suite.id));
    if (!metric) continue;
    const columns: Array<Map<string, number>> = past.map((id) => {
      if (metric === "perplexity") {
        const rows = perplexityRows.all(id, suite.id) as Array<{
          name: string;
          nll: number | null;
          tokens: number | null;
        }>;
        return new Map(
          rows
            .filter((r) => r.tokens)
            .map((r) => [
              r.name,
              combinePerplexity([{ nllSum: r.nll ?? 0, nll2Sum: 0, count: r.tokens ?? 0 }]).ppl,
            ]),
        );
      }
      const rows = generation.all(metric, id, suite.id) as Array<{ name: string; value: number }>;
      return new Map(rows.map((r) => [r.name, r.value]));
    });
    const current = new Map<string, number>();
    for (const v of facts.variants) {
      const value =
        metric === "perplexity"
          ? ppl?.get(v.name)?.ppl
          : mean(v.quality.get(suite.id)?.get(metric)?.values() ?? []);
      if (value !== null && value !== undefined && v.status !== "failed")
        current.set(v.name, value);
    }
    columns.push(current);
    series.push({
      suite: suite.id,
      metric,
      runs: [...past, run.id],
      variants: names.map((name) => ({
        name,
        values: columns.map((c) => c.get(name) ?? null),
      })),
    });
  }
  return series;
}
