import type { RunAggregate, RunRecord } from "../store/records.js";
import type { RunFacts } from "../verdict/facts.js";
import { primaryMetric } from "./disagreements.js";
import {
  mean,
  type PerplexityFigures,
  perplexityOfSums,
  suiteAggregate,
  suiteMetrics,
} from "./quality.js";

/** One suite's key metric over the runs of a plan: a value per variant and run (null = not run). */
export interface HistorySeries {
  suite: string;
  metric: string;
  runs: number[];
  variants: Array<{ name: string; values: Array<number | null> }>;
}

/**
 * The key metric of each suite (exact match, else ROUGE-L F1, else perplexity) over `past`, the
 * last complete runs of the same plan before this one (oldest first), and this run.
 */
export function readHistory(
  run: RunRecord,
  facts: RunFacts,
  perplexity: Map<string, Map<string, PerplexityFigures>>,
  past: readonly RunAggregate[],
): HistorySeries[] {
  const names = run.variants.map((v) => v.name);
  const series: HistorySeries[] = [];
  for (const suite of run.suites) {
    const ppl = perplexity.get(suite.id);
    const metric = ppl ? "perplexity" : primaryMetric(suiteMetrics(facts, suite.id));
    if (!metric) continue;
    const columns: Array<Map<string, number>> = past.map((earlier) => {
      const values = new Map<string, number>();
      for (const v of earlier.run.variants) {
        const s = suiteAggregate(earlier, v.id, suite.id);
        const value =
          metric === "perplexity" ? s && perplexityOfSums(s.sums)?.ppl : s?.means[metric];
        if (value !== undefined) values.set(v.name, value);
      }
      return values;
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
      runs: [...past.map((p) => p.run.id), run.id],
      variants: names.map((name) => ({
        name,
        values: columns.map((c) => c.get(name) ?? null),
      })),
    });
  }
  return series;
}
