/**
 * make_qkx2_quants / make_qkx3_quants of ggml-quants.c (the searches for a scale and a minimum
 * behind Q2_K, Q4_K, Q5_K and, with an imatrix, Q4_1 / Q5_1), in float32 as libggml-base computes
 * them; see k-search.ts for the conventions.
 */
import { nearestInt } from "./k-search.js";

const fr = Math.fround;

/** The minimum a make_qkx* search settles on, negated (`*the_min`). */
export const searchResult = { min: 0 };

/** x[i] − min of the group being searched, and its largest magnitude (so the rounding fast path is known safe). */
const shifted = new Float32Array(256);
let shiftedMax = 0;

function shift(n: number, x: Float32Array, xo: number, min: number): void {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const d = fr((x[xo + i] as number) - min);
    shifted[i] = d;
    const a = Math.abs(d);
    if (a > m) m = a;
  }
  shiftedMax = m;
}

/**
 * Levels clamp(nearest_int(iscale · (x − min)), 0, nmax) into `into` at `io`. When every product
 * is below 2^22 in magnitude, nearest_int is fr(p + 1.5·2^23) − 1.5·2^23 with no range test.
 */
function levels(n: number, nmax: number, iscale: number, into: Uint8Array, io: number): void {
  if (fr(iscale * shiftedMax) < 4194303) {
    for (let i = 0; i < n; i++) {
      const l = fr(fr(iscale * (shifted[i] as number)) + 12582912) - 12582912;
      into[io + i] = l < 0 ? 0 : l > nmax ? nmax : l;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const l = nearestInt(fr(iscale * (shifted[i] as number)));
    into[io + i] = l < 0 ? 0 : l > nmax ? nmax : l;
  }
}

/**
 * make_qkx2_quants (and make_qkx3_quants, which differs only in `max <= min` and is called with
 * weights): levels in [0, nmax] with a scale and a minimum; the negated minimum goes to
 * searchResult.min. Float32 throughout, in llama.cpp's order of operations.
 */
export function makeQkxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  Laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): number {
  let min = x[xo] as number;
  let max = min;
  let sumW = weights[0] as number;
  let sumX = fr(sumW * min);
  let nonNegative = sumW >= 0;
  for (let i = 1; i < n; i++) {
    const v = x[xo + i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i] as number;
    if (!(w >= 0)) nonNegative = false;
    sumW = fr(sumW + w);
    sumX = fr(sumX + fr(w * v));
  }
  if (min > 0) min = 0;
  // make_qkx2 tests max == min, make_qkx3 max <= min: the same once min <= 0 <= max... unless NaN.
  if (max === min) {
    L.fill(0, lo, lo + n);
    searchResult.min = -min;
    return 0;
  }
  shift(n, x, xo, min);
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  levels(n, nmax, iscale, L, lo);
  for (let i = 0; i < n; i++) {
    let diff = fr(fr(fr(scale * (L[lo + i] as number)) + min) - (x[xo + i] as number));
    diff = useMad ? Math.abs(diff) : fr(diff * diff);
    bestError = fr(bestError + fr((weights[i] as number) * diff));
  }
  if (nstep < 1) {
    searchResult.min = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // (max - min) and (x - min) with the best min so far, as llama.cpp's loop reads it.
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    levels(n, nmax, iscale, Laux, 0);
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Laux[i] as number;
      const wl = fr((weights[i] as number) * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * (x[xo + i] as number)));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fr(fr(fr(thisScale * (Laux[i] as number)) + thisMin) - (x[xo + i] as number));
        diff = useMad ? Math.abs(diff) : fr(diff * diff);
        curError = fr(curError + fr((weights[i] as number) * diff));
        // A float sum of non-negative terms never decreases: once it reaches the best, this
        // candidate cannot win, so the rest of the sum cannot change the outcome.
        if (nonNegative && curError >= bestError) break;
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i] as number;
        bestError = curError;
        scale = thisScale;
        if (thisMin !== min) {
          min = thisMin;
          shift(n, x, xo, min);
        }
      }
    }
  }
  searchResult.min = -min;
  return scale;
}
