import type { ItemTexts } from "../store/read-report.js";
import type { RunRecord } from "../store/records.js";
import type { RunFacts } from "../verdict/facts.js";
import { BINARY_METRICS } from "../verdict/flips.js";
import { primaryMetric, SCORE_EPSILON } from "../verdict/regressions.js";
import { clip, DASH, fixed, percent } from "./format.js";
import { suiteMetrics } from "./quality.js";
import type { DisagreementItem, DisagreementOutput, Disagreements } from "./view-model.js";

export interface DisagreementOptions {
  /** Items kept per suite, worst first. */
  cap: number;
  /** Characters kept of each prompt, reference and output. */
  textCap: number;
}

const EPSILON = SCORE_EPSILON;

export { primaryMetric };

function scoreText(metric: string, value: number | undefined): string {
  if (value === undefined) return DASH;
  if (BINARY_METRICS.has(metric)) return value === 1 ? "✓" : value === 0 ? "✗" : percent(value);
  return fixed(value, 3);
}

interface Ranked {
  item: string;
  drop: number;
  gain: number;
}

/**
 * Items where a variant scores differently from the baseline, from the per-item scores the
 * verdict read: regressions (baseline right, variant wrong) first, the largest drop first, then
 * improvements; only the first `cap` per suite are read back with their texts.
 */
export function findDisagreements(
  texts: ItemTexts,
  run: RunRecord,
  facts: RunFacts,
  options: DisagreementOptions,
): Disagreements {
  const baseline = facts.variants.find((v) => v.isBaseline);
  const compared = facts.variants.filter((v) => !v.isBaseline && v.status !== "failed");
  const result: Disagreements = {
    cap: options.cap,
    textCap: options.textCap,
    suites: [],
    variants: baseline ? [baseline.name, ...compared.map((v) => v.name)] : [],
    items: [],
  };
  if (!baseline || compared.length === 0) return result;
  for (const suite of run.suites) {
    const metric = primaryMetric(suiteMetrics(facts, suite.id));
    const base = metric ? baseline.quality.get(suite.id)?.get(metric) : undefined;
    if (!metric || !base) continue;
    const scores = compared.map((v) => v.quality.get(suite.id)?.get(metric));
    const ranked: Ranked[] = [];
    for (const [item, b] of base) {
      let drop = 0;
      let gain = 0;
      for (const s of scores) {
        // A variant that stored no score for the item failed it: that is a regression too.
        const v = s?.get(item) ?? 0;
        drop = Math.max(drop, b - v);
        gain = Math.max(gain, v - b);
      }
      if (drop > EPSILON || gain > EPSILON) ranked.push({ item, drop, gain });
    }
    ranked.sort(
      (a, b) =>
        b.drop - a.drop || b.gain - a.gain || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0),
    );
    const regressions = ranked.filter((r) => r.drop > EPSILON).length;
    const kept = ranked.slice(0, options.cap);
    result.suites.push({
      suite: suite.id,
      metric,
      items: base.size,
      regressions,
      improvements: ranked.length - regressions,
      shown: kept.length,
    });
    for (const r of kept) {
      const shown = texts.item(suite.id, r.item);
      const b = base.get(r.item);
      const outputs: DisagreementOutput[] = [baseline, ...compared].map((v) => {
        const row = texts.output(v.id, suite.id, r.item);
        const value = v.quality.get(suite.id)?.get(metric)?.get(r.item);
        const status = !row ? "missing" : row.status === "ok" ? "ok" : "error";
        const text = !row
          ? "(no result stored)"
          : row.status === "ok"
            ? (row.output ?? "")
            : `(failed: ${row.error ?? "unknown error"})`;
        const delta = (value ?? 0) - (b ?? 0);
        return {
          variant: v.name,
          text: clip(text, options.textCap),
          score: scoreText(metric, value),
          status,
          change:
            v === baseline
              ? "baseline"
              : delta < -EPSILON
                ? "worse"
                : delta > EPSILON
                  ? "better"
                  : "same",
        };
      });
      const item: DisagreementItem = {
        suite: suite.id,
        item: r.item,
        metric,
        kind: r.drop > EPSILON ? "regression" : "improvement",
        prompt: clip(shown?.prompt ?? "", options.textCap),
        reference: clip(shown?.reference ?? "", options.textCap),
        outputs,
      };
      result.items.push(item);
    }
  }
  return result;
}
