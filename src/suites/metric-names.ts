import type { Metric } from "./schema.js";

/**
 * The figures of a suite's metrics that the quality gates judge, named as scoreGeneration
 * stores them and isGatedMetric keeps them: exact_match and each ROUGE type's F1.
 */
export function gatedMetricNames(metrics: readonly Metric[]): string[] {
  return metrics.flatMap((metric) => {
    if ("exact_match" in metric) return ["exact_match"];
    if ("rouge" in metric) return metric.rouge.types.map((type) => `${type}_f1`);
    return [];
  });
}
