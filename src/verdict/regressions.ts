import type { RunFacts, VariantFacts } from "./facts.js";

/** The metric items are compared on: exact match, else a choice's acc, else a ROUGE-L F1. */
export function primaryMetric(metrics: string[]): string | undefined {
  return (
    metrics.find((m) => m === "exact_match") ??
    metrics.find((m) => m === "acc") ??
    metrics.find((m) => m === "rougeL_f1") ??
    metrics.find((m) => m.startsWith("rouge")) ??
    metrics[0]
  );
}

/** Below this a change of an item's score is no change. */
export const SCORE_EPSILON = 1e-9;

const ORDER = ["exact_match", "acc", "rouge1_f1", "rouge2_f1", "rougeL_f1", "rougeLsum_f1"];
const rank = (m: string) => (ORDER.includes(m) ? ORDER.indexOf(m) : 99);

/** A suite's key metric, as the report's disagreement list compares items on it. */
export function keyMetricOf(facts: RunFacts, suite: string): string | undefined {
  const names = new Set<string>();
  for (const v of facts.variants) for (const m of v.quality.get(suite)?.keys() ?? []) names.add(m);
  return primaryMetric(
    [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** One item on which a variant's key-metric score differs from the baseline's. */
export interface ItemChange {
  suite: string;
  item: string;
  change: "worse" | "better";
}

/**
 * The items where `variant` scores differently from `baseline` on each suite's key metric; an
 * item the variant stored no score for counts as 0 (it failed it), as in the report.
 */
export function itemChanges(
  facts: RunFacts,
  variant: VariantFacts,
  baseline: VariantFacts,
): ItemChange[] {
  const changes: ItemChange[] = [];
  for (const [suite, metrics] of baseline.quality) {
    const metric = keyMetricOf(facts, suite);
    const base = metric ? metrics.get(metric) : undefined;
    if (!metric || !base) continue;
    const scores = variant.quality.get(suite)?.get(metric);
    for (const [item, b] of base) {
      const delta = (scores?.get(item) ?? 0) - b;
      if (delta < -SCORE_EPSILON) changes.push({ suite, item, change: "worse" });
      else if (delta > SCORE_EPSILON) changes.push({ suite, item, change: "better" });
    }
  }
  return changes;
}
