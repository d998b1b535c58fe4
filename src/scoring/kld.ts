import { quantile } from "./quantile.js";
/**
 * KL divergence of a variant from the baseline without full-vocabulary dumps: the baseline
 * keeps its top-K log-probabilities per scored token, the variant is asked for its
 * log-probabilities of those same tokens, and everything outside them is one tail bucket.
 * Merging outcomes can only lower a KL divergence, so this is a lower bound of the full
 * KLD, equal to it when the tail is negligible (it is at K = 512 for a 512-token vocabulary).
 */

import { valuesAtRanks } from "./select.js";

/**
 * Mean baseline mass a top-K KLD's kept entries must cover for its lower bound to be taken as
 * the figure: below it `qbench ppl --kld auto` computes the exact KLD, and a gate passed on the
 * bound is inconclusive.
 */
export const TIGHT_COVERAGE = 0.999;

/** Entries this far below certainty (ln p < −16) are dropped, as llama.cpp's KLD ignores them. */
export const MIN_LOGPROB = -16;

/** KL(P_base ‖ P_variant) at one position, from the baseline's top-K and the variant's log-probs of the same ids. */
export function klDivergence(
  baseLogprobs: ArrayLike<number>,
  variantLogprobs: ArrayLike<number>,
): number {
  let sum = 0;
  let pMass = 0;
  let qMass = 0;
  for (let i = 0; i < baseLogprobs.length; i++) {
    const lp = baseLogprobs[i] as number;
    const lq = variantLogprobs[i] as number;
    const p = Math.exp(lp);
    pMass += p;
    qMass += Math.exp(lq);
    sum += p * (lp - lq);
  }
  const pTail = 1 - pMass;
  if (pTail > 1e-12) {
    // A variant that puts (numerically) all its mass on the listed ids has a tail of ~0.
    const qTail = Math.max(1 - qMass, 1e-30);
    sum += pTail * (Math.log(pTail) - Math.log(qTail));
  }
  return sum;
}

function meanAndError(sum: number, sum2: number, count: number): [number, number] {
  if (count < 1) return [Number.NaN, Number.NaN];
  const mean = sum / count;
  const variance = sum2 / count - mean * mean;
  return [mean, variance > 0 && count > 10 ? Math.sqrt(variance / (count - 1)) : 0];
}

export interface KldSummary {
  n: number;
  meanKld: number;
  meanKldError: number;
  medianKld: number;
  p90Kld: number;
  p95Kld: number;
  p99Kld: number;
  maxKld: number;
  /** The percentiles llama-perplexity prints besides those above, and the minimum. */
  p999Kld: number;
  p10Kld: number;
  p5Kld: number;
  p1Kld: number;
  p01Kld: number;
  minKld: number;
  /** Positions where both models' most likely token is the same, in percent. */
  sameTopPct: number;
  sameTopError: number;
}

/** The fractions llama-perplexity reports percentiles at (the median apart). */
const PERCENTILES = [0.001, 0.01, 0.05, 0.1, 0.9, 0.95, 0.99, 0.999];

/** Summary statistics of per-token KLD and same-top flags, as llama-perplexity reports them. */
export function summarizeKld(kld: ArrayLike<number>, sameTop: ArrayLike<number>): KldSummary {
  const n = kld.length;
  let sum = 0;
  let sum2 = 0;
  let same = 0;
  for (let i = 0; i < n; i++) {
    const v = kld[i] as number;
    sum += v;
    sum2 += v * v;
    same += sameTop[i] ? 1 : 0;
  }
  const [meanKld, meanKldError] = meanAndError(sum, sum2, n);
  const p = n > 0 ? same / n : Number.NaN;
  // Only the ranks the median, the percentiles (two neighbours each) and the maximum read:
  // selected, not sorted, then read through `percentile` as if the whole array were sorted.
  const ranks = PERCENTILES.flatMap((f) => {
    const at = Math.floor(f * (n - 1));
    return at + 1 < n ? [at, at + 1] : [at];
  });
  ranks.push(0, Math.floor((n - 1) / 2), Math.floor(n / 2), n - 1);
  const sorted: ArrayLike<number> = Object.assign(
    { length: n },
    Object.fromEntries(valuesAtRanks(Float64Array.from(kld), ranks)),
  );
  const median =
    n % 2 === 0
      ? 0.5 * ((sorted[n / 2] ?? 0) + (sorted[n / 2 - 1] ?? 0))
      : (sorted[(n - 1) / 2] ?? 0);
  return {
    n,
    meanKld,
    meanKldError,
    medianKld: n > 0 ? median : Number.NaN,
    p90Kld: quantile(sorted, 0.9),
    p95Kld: quantile(sorted, 0.95),
    p99Kld: quantile(sorted, 0.99),
    maxKld: n > 0 ? (sorted[n - 1] as number) : Number.NaN,
    p999Kld: quantile(sorted, 0.999),
    p10Kld: quantile(sorted, 0.1),
    p5Kld: quantile(sorted, 0.05),
    p1Kld: quantile(sorted, 0.01),
    p01Kld: quantile(sorted, 0.001),
    minKld: n > 0 ? (sorted[0] as number) : Number.NaN,
    sameTopPct: 100 * p,
    sameTopError: n > 1 ? 100 * Math.sqrt((p * (1 - p)) / (n - 1)) : 0,
  };
}

export interface PplComparison {
  ppl: number;
  pplError: number;
  baselinePpl: number;
  baselinePplError: number;
  /** ln(PPL/PPL_base) with its uncertainty, accounting for the correlation of paired tokens. */
  lnRatio: number;
  lnRatioError: number;
  ratio: number;
  ratioError: number;
  delta: number;
  deltaError: number;
}

/** Paired perplexity comparison over the same tokens, with llama-perplexity's uncertainties. */
export function comparePerplexity(
  variantLogprobs: ArrayLike<number>,
  baseLogprobs: ArrayLike<number>,
): PplComparison {
  const n = Math.min(variantLogprobs.length, baseLogprobs.length);
  let s = 0;
  let s2 = 0;
  let b = 0;
  let b2 = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    const nll = -(variantLogprobs[i] as number);
    const nllBase = -(baseLogprobs[i] as number);
    s += nll;
    s2 += nll * nll;
    b += nllBase;
    b2 += nllBase * nllBase;
    sb += nll * nllBase;
  }
  const [logPpl, logPplError] = meanAndError(s, s2, n);
  const [logBase, logBaseError] = meanAndError(b, b2, n);
  const cov = n < 10 ? 0 : (sb / n - (s / n) * (b / n)) / (n - 1);
  const ppl = Math.exp(logPpl);
  const baselinePpl = Math.exp(logBase);
  const lnRatio = logPpl - logBase;
  const lnRatioError = Math.sqrt(Math.max(0, logPplError ** 2 + logBaseError ** 2 - 2 * cov));
  const ratio = Math.exp(lnRatio);
  const pplError = ppl * logPplError;
  const baselinePplError = baselinePpl * logBaseError;
  return {
    ppl,
    pplError,
    baselinePpl,
    baselinePplError,
    lnRatio,
    lnRatioError,
    ratio,
    ratioError: ratio * lnRatioError,
    delta: ppl - baselinePpl,
    deltaError: Math.sqrt(
      Math.max(0, pplError ** 2 + baselinePplError ** 2 - 2 * ppl * baselinePpl * cov),
    ),
  };
}
