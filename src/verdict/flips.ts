import { normalQuantile } from "../scoring/normal.js";

/** Per-item metrics that are right (1) or wrong (0): McNemar and flips apply to them. */
export const BINARY_METRICS: ReadonlySet<string> = new Set([
  "exact_match",
  "acc",
  "acc_norm",
  "acc_bytes",
  "acc_mutual_info",
]);

export interface Flips {
  /** Items right for the baseline only, and for the variant only. */
  lost: number;
  gained: number;
  n: number;
  /** (lost + gained) / n: the share of items whose correctness changed (Dutta et al. 2024). */
  rate: number;
  /** Wilson score interval of the rate at the given confidence. */
  low: number;
  high: number;
}

/** Flips between paired binary outcomes, with the Wilson interval of their rate. */
export function countFlips(
  baseline: ArrayLike<number>,
  variant: ArrayLike<number>,
  confidence: number,
): Flips {
  if (baseline.length !== variant.length) throw new RangeError("unpaired outcomes");
  let lost = 0;
  let gained = 0;
  for (let i = 0; i < baseline.length; i++) {
    const b = (baseline[i] as number) >= 0.5;
    const v = (variant[i] as number) >= 0.5;
    if (b && !v) lost++;
    if (v && !b) gained++;
  }
  const n = baseline.length;
  const rate = n === 0 ? 0 : (lost + gained) / n;
  const [low, high] = wilson(lost + gained, n, confidence);
  return { lost, gained, n, rate, low, high };
}

function wilson(k: number, n: number, confidence: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = normalQuantile(0.5 + confidence / 2);
  const p = k / n;
  const z2 = (z * z) / n;
  const centre = (p + z2 / 2) / (1 + z2);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n))) / (1 + z2);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
