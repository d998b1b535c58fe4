import { pairedBootstrap } from "../scoring/bootstrap.js";
import { concatFloat32 } from "../scoring/concat.js";
import { comparePerplexity } from "../scoring/kld.js";
import { pairValues } from "../store/item-column.js";
import { storedGates } from "./decide-run.js";
import type { RunFacts, VariantFacts } from "./facts.js";
import { MIN_PAIRED_ITEMS } from "./policy.js";
import { normalQuantile } from "./stats.js";

/** How one metric of one variant moved between two runs, on the items both runs scored. */
export interface MetricDelta {
  suite: string;
  metric: string;
  before: number;
  after: number;
  delta: number;
  /** Interval of `delta` (paired bootstrap; for perplexity, from the paired ln-ratio error). */
  interval: [number, number];
  n: number;
  /** The interval excludes 0 and rests on at least MIN_PAIRED_ITEMS pairs: a real move, not noise. */
  moved: boolean;
}

export interface CompareOptions {
  confidence: number;
  resamples: number;
  seed: number;
}

/** Per-metric deltas of the same variant between two stored runs (e.g. last night vs tonight). */
export function compareVariantRuns(
  before: VariantFacts,
  after: VariantFacts,
  options: CompareOptions,
): MetricDelta[] {
  const deltas: MetricDelta[] = [];
  for (const [suite, metrics] of before.quality) {
    for (const [metric, items] of metrics) {
      const next = after.quality.get(suite)?.get(metric);
      if (!next) continue;
      const { first: a, second: b } = pairValues(items, next);
      if (a.length === 0) continue;
      const cmp = pairedBootstrap(a, b, options);
      const { low, high, estimate } = cmp.difference;
      deltas.push({
        suite,
        metric,
        before: cmp.baselineMean,
        after: cmp.variantMean,
        delta: estimate,
        interval: [low, high],
        n: cmp.n,
        moved: cmp.n >= MIN_PAIRED_ITEMS && (low > 0 || high < 0),
      });
    }
  }
  const z = normalQuantile(0.5 + options.confidence / 2);
  for (const [suite, facts] of before.perplexity) {
    const next = after.perplexity.get(suite);
    if (!next) continue;
    const a: Float32Array[] = [];
    const b: Float32Array[] = [];
    for (const [item, t] of facts.items) {
      const u = next.items.get(item);
      if (!u || u.logprobs.length !== t.logprobs.length) continue;
      a.push(t.logprobs);
      b.push(u.logprobs);
    }
    if (a.length === 0) continue;
    const baseTokens = concatFloat32(a);
    const cmp = comparePerplexity(concatFloat32(b), baseTokens);
    const tokens = baseTokens.length;
    const low = cmp.baselinePpl * (Math.exp(cmp.lnRatio - z * cmp.lnRatioError) - 1);
    const high = cmp.baselinePpl * (Math.exp(cmp.lnRatio + z * cmp.lnRatioError) - 1);
    deltas.push({
      suite,
      metric: "ppl",
      before: cmp.baselinePpl,
      after: cmp.ppl,
      delta: cmp.delta,
      interval: [low, high],
      n: tokens,
      moved: tokens >= MIN_PAIRED_ITEMS && (low > 0 || high < 0),
    });
  }
  return deltas;
}

/** What a delta means: "worse" / "better" only when it moved, else "same" or too few pairs. */
export function deltaMark(d: MetricDelta): "worse" | "better" | "same" | "too few pairs to tell" {
  if (d.moved) {
    const worse = d.metric === "ppl" ? d.delta > 0 : d.delta < 0;
    return worse ? "worse" : "better";
  }
  return d.n < MIN_PAIRED_ITEMS ? "too few pairs to tell" : "same";
}

/** Per variant name the two runs share: its deltas from `before` to `after`, under `after`'s stored gates. */
export function compareRuns(
  before: RunFacts,
  after: RunFacts,
): Array<{ variant: string; deltas: MetricDelta[] }> {
  const gates = storedGates(after.planJson);
  const options: CompareOptions = {
    confidence: gates.confidence,
    resamples: gates.resamples,
    seed: gates.seed,
  };
  return after.variants.flatMap((v) => {
    const earlier = before.variants.find((p) => p.name === v.name);
    return earlier ? [{ variant: v.name, deltas: compareVariantRuns(earlier, v, options) }] : [];
  });
}

export function formatDelta(d: MetricDelta): string {
  const sign = (x: number) => (x >= 0 ? `+${x.toFixed(4)}` : x.toFixed(4));
  const mark = deltaMark(d);
  return `${d.suite.padEnd(18)} ${d.metric.padEnd(14)} ${d.before.toFixed(4)} → ${d.after.toFixed(4)}  ${sign(d.delta)} (CI ${sign(d.interval[0])}…${sign(d.interval[1])}, n=${d.n})  ${mark}`;
}
