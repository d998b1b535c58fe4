import type { Metric, MultipleChoiceOptions } from "./schema.js";

/**
 * The figures of a suite's metrics that the quality gates judge, named as scoreGeneration
 * stores them and isGatedMetric keeps them: exact_match, each ROUGE type's F1, and a
 * multiple-choice suite's accuracies.
 */
export function gatedMetricNames(metrics: readonly Metric[]): string[] {
  return metrics.flatMap((metric) => {
    if ("exact_match" in metric) return ["exact_match"];
    if ("rouge" in metric) return metric.rouge.types.map((type) => `${type}_f1`);
    if ("multiple_choice" in metric) return choiceMetricNames(metric.multiple_choice);
    // Greedy match of the target; the suite's perplexity over targets is reported, not gated.
    if ("loglikelihood" in metric) return ["acc"];
    return [];
  });
}

/**
 * A multiple-choice suite's per-item figures: lm-eval's three accuracies (and acc_mutual_info
 * where asked), or llama.cpp's one.
 */
export function choiceMetricNames(options: MultipleChoiceOptions): string[] {
  if (options.scoring === "llama.cpp") return ["acc"];
  const names = ["acc", "acc_norm", "acc_bytes"];
  return options.mutual_info ? [...names, "acc_mutual_info"] : names;
}
