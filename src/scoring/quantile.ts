/**
 * The quantile of sorted values by linear interpolation between closest ranks: numpy's default
 * and llama.cpp's percentile. `q` is a fraction in [0, 1]; NaN when there are no values.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (q <= 0) return sorted[0] as number;
  if (q >= 1) return sorted[n - 1] as number;
  const p = q * (n - 1);
  const i = Math.floor(p);
  const w = p - i;
  return (1 - w) * (sorted[i] as number) + w * (sorted[Math.min(i + 1, n - 1)] as number);
}
