import { quantile } from "./quantile.js";
/**
 * Paired statistics of a variant against the baseline on the same items: a seeded percentile
 * bootstrap of the mean difference and of the ratio of means, and McNemar's exact test for
 * binary scores. Seeded, so the same data always gives the same interval.
 */

import { normalQuantile } from "./normal.js";

/** sfc32: a small, fast, well-tested 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  // The state is kept as int32 (`| 0`), not uint32: the same bits, but small integers that need
  // no heap number per draw, for the bootstrap's n × resamples draws.
  let a = 0x9e3779b9 | 0;
  let b = 0x243f6a88 | 0;
  let c = 0xb7e15162 | 0;
  let d = seed | 0;
  const next = () => {
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

export interface PairedComparison {
  n: number;
  baselineMean: number;
  variantMean: number;
  /** variant − baseline. */
  difference: Interval;
  /** variant / baseline; undefined when the baseline's mean is 0. */
  ratio: Interval | undefined;
  confidence: number;
  /** 0 when the interval came from the normal approximation. */
  resamples: number;
  method: "bootstrap" | "normal";
}

export interface BootstrapOptions {
  confidence?: number;
  resamples?: number;
  seed?: number;
  /**
   * Above this many pairs the interval is the normal approximation (CLT; delta method for the
   * ratio): at that size it matches the bootstrap, and resampling 50k items 2,000 times per
   * metric would dominate a run's verdict time.
   */
  bootstrapMaxN?: number;
}

/** Normal-approximation intervals of the paired mean difference and of the ratio of means. */
function pairedNormal(
  baseline: ArrayLike<number>,
  variant: ArrayLike<number>,
  confidence: number,
): Omit<PairedComparison, "confidence" | "resamples" | "method"> {
  const n = baseline.length;
  let mb = 0;
  let mv = 0;
  for (let i = 0; i < n; i++) {
    mb += baseline[i] as number;
    mv += variant[i] as number;
  }
  mb /= n;
  mv /= n;
  let vb = 0;
  let vv = 0;
  let cov = 0;
  for (let i = 0; i < n; i++) {
    const b = (baseline[i] as number) - mb;
    const v = (variant[i] as number) - mv;
    vb += b * b;
    vv += v * v;
    cov += b * v;
  }
  vb /= n - 1;
  vv /= n - 1;
  cov /= n - 1;
  const z = normalQuantile(0.5 + confidence / 2);
  const seDiff = Math.sqrt(Math.max(0, (vv + vb - 2 * cov) / n));
  const diff = mv - mb;
  const ratio = mb === 0 ? undefined : mv / mb;
  const seRatio =
    ratio === undefined
      ? 0
      : Math.sqrt(Math.max(0, (vv - 2 * ratio * cov + ratio * ratio * vb) / n)) / Math.abs(mb);
  return {
    n,
    baselineMean: mb,
    variantMean: mv,
    difference: { estimate: diff, low: diff - z * seDiff, high: diff + z * seDiff },
    ratio:
      ratio === undefined
        ? undefined
        : { estimate: ratio, low: ratio - z * seRatio, high: ratio + z * seRatio },
  };
}

/** Paired percentile bootstrap over items: the same resampled items for both variants. */
export function pairedBootstrap(
  baseline: ArrayLike<number>,
  variant: ArrayLike<number>,
  options: BootstrapOptions = {},
): PairedComparison {
  const n = baseline.length;
  if (variant.length !== n)
    throw new RangeError(`paired samples differ in size: ${n} vs ${variant.length}`);
  if (n === 0) throw new RangeError("no paired items to compare");
  const confidence = options.confidence ?? 0.95;
  if (n > (options.bootstrapMaxN ?? 2000)) {
    return {
      ...pairedNormal(baseline, variant, confidence),
      confidence,
      resamples: 0,
      method: "normal",
    };
  }
  const resamples = options.resamples ?? 2000;
  // Typed copies keep the n × resamples loop on one fast element kind, whatever the caller passed.
  const base = Float64Array.from(baseline);
  const other = Float64Array.from(variant);
  let sumB = 0;
  let sumV = 0;
  for (let i = 0; i < n; i++) {
    sumB += base[i] as number;
    sumV += other[i] as number;
  }
  const diffs = new Float64Array(resamples);
  const ratios = new Float64Array(resamples);
  let finiteRatios = 0;
  const random = seededRandom(options.seed ?? 1);
  for (let r = 0; r < resamples; r++) {
    let b = 0;
    let v = 0;
    for (let k = 0; k < n; k++) {
      const i = Math.floor(random() * n);
      b += base[i] as number;
      v += other[i] as number;
    }
    diffs[r] = (v - b) / n;
    if (b !== 0) ratios[finiteRatios++] = v / b;
  }
  diffs.sort();
  const alpha = (1 - confidence) / 2;
  const sortedRatios = ratios.subarray(0, finiteRatios).sort();
  return {
    n,
    baselineMean: sumB / n,
    variantMean: sumV / n,
    difference: {
      estimate: (sumV - sumB) / n,
      low: quantile(diffs, alpha),
      high: quantile(diffs, 1 - alpha),
    },
    ratio:
      sumB === 0 || finiteRatios < resamples / 2
        ? undefined
        : {
            estimate: sumV / sumB,
            low: quantile(sortedRatios, alpha),
            high: quantile(sortedRatios, 1 - alpha),
          },
    confidence,
    resamples,
    method: "bootstrap",
  };
}

/** ln C(n, k), exactly enough for the binomial tails McNemar needs. */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

export interface McNemar {
  /** Baseline right, variant wrong. */
  baselineOnly: number;
  /** Variant right, baseline wrong. */
  variantOnly: number;
  /** Two-sided exact p-value (binomial test on the discordant pairs). */
  pValue: number;
}

/** McNemar's exact test for paired binary outcomes (1 = correct). */
export function mcnemarExact(baseline: ArrayLike<number>, variant: ArrayLike<number>): McNemar {
  let b = 0;
  let c = 0;
  for (let i = 0; i < baseline.length; i++) {
    const x = (baseline[i] as number) > 0;
    const y = (variant[i] as number) > 0;
    if (x && !y) b++;
    if (!x && y) c++;
  }
  const n = b + c;
  if (n === 0) return { baselineOnly: 0, variantOnly: 0, pValue: 1 };
  const k = Math.min(b, c);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return { baselineOnly: b, variantOnly: c, pValue: Math.min(1, 2 * tail) };
}
