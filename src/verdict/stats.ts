export { normalQuantile } from "../scoring/normal.js";

/** Linear-interpolation percentile of unsorted values; NaN when empty. */
export function percentileOf(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const p = fraction * (sorted.length - 1);
  const i = Math.floor(p);
  const w = p - i;
  return (
    (1 - w) * (sorted[i] as number) + w * (sorted[Math.min(i + 1, sorted.length - 1)] as number)
  );
}

export type Judgement = "pass" | "fail" | "inconclusive";

/** An interval against a lower bound: above it entirely passes, below it entirely fails. */
export function judgeAtLeast(low: number, high: number, threshold: number): Judgement {
  if (low >= threshold) return "pass";
  if (high < threshold) return "fail";
  return "inconclusive";
}

/** An interval against an upper bound. */
export function judgeAtMost(low: number, high: number, threshold: number): Judgement {
  if (high <= threshold) return "pass";
  if (low > threshold) return "fail";
  return "inconclusive";
}
