/**
 * Order statistics without a full sort: what a 1.3-million-token KLD summary needs (median, a few
 * percentiles, the maximum) at a fraction of the time a sort takes.
 */

/** Introselect: past this many partitioning rounds per element doubling, sort the rest instead. */
const ROUNDS_PER_DOUBLING = 4;

/** Places the value of rank k of a[left..right] at a[k], smaller ones before it, larger after. */
function selectInPlace(a: Float64Array, left: number, right: number, k: number): void {
  let rounds = ROUNDS_PER_DOUBLING * Math.ceil(Math.log2(right - left + 2));
  while (right > left) {
    if (rounds-- === 0) {
      a.subarray(left, right + 1).sort();
      return;
    }
    const mid = (left + right) >>> 1;
    const x = a[left] as number;
    const y = a[mid] as number;
    const z = a[right] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}

/**
 * The values at `ranks` (0-based) of `values` sorted ascending, NaN ranked last as a typed-array
 * sort puts it. Reorders `values`; exact, the same numbers a sort would give.
 */
export function valuesAtRanks(values: Float64Array, ranks: readonly number[]): Map<number, number> {
  let finite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isNaN(v)) {
      values[i] = values[finite] as number;
      values[finite++] = v;
    }
  }
  const out = new Map<number, number>();
  let left = 0;
  for (const k of [...new Set(ranks)].sort((a, b) => a - b)) {
    if (k < 0 || k >= values.length) continue;
    if (k >= finite) {
      out.set(k, Number.NaN);
      continue;
    }
    selectInPlace(values, left, finite - 1, k);
    out.set(k, values[k] as number);
    left = k + 1;
  }
  return out;
}
