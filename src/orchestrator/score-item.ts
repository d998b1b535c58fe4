import { exactMatch } from "../scoring/exact-match.js";
import { scoreRouge } from "../scoring/rouge.js";
import type { Metric } from "../suites/schema.js";

/** Every generation metric of a suite for one output, as flat named figures. */
export function scoreGeneration(
  metrics: readonly Metric[],
  output: string,
  reference: string,
): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const metric of metrics) {
    if ("exact_match" in metric) {
      figures.exact_match = exactMatch(output, reference, metric.exact_match);
    } else if ("rouge" in metric) {
      const scores = scoreRouge(output, reference, {
        types: metric.rouge.types,
        stem: metric.rouge.stem,
      });
      for (const type of metric.rouge.types) {
        const s = scores[type];
        figures[`${type}_precision`] = s.precision;
        figures[`${type}_recall`] = s.recall;
        figures[`${type}_f1`] = s.f1;
      }
    }
  }
  return figures;
}
