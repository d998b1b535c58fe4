/**
 * The scale searches of ggml's k-quant reference quantizers (ggml/src/ggml-quants.c:
 * nearest_int, make_qx_quants, make_q3_quants, make_qkx2_quants, make_qkx3_quants,
 * make_qp_quants), in float32 as libggml-base computes them: `fr` after every operation, in C's
 * evaluation order, no fused multiply-add (baseline x86-64). Every array argument is a view plus
 * an offset so the block encoders allocate nothing per block.
 */

const fr = Math.fround;

/** GROUP_MAX_EPS: a group whose largest magnitude is below this is all zeros. */
export const GROUP_MAX_EPS = fr(1e-15);
/** 0.1f. */
export const F_0_1 = fr(0.1);

const bits = new Float32Array(1);
const ints = new Int32Array(bits.buffer);

/** nearest_int: round half to even through the 1.5·2^23 trick; outside ±2^22 (and NaN) the same bit arithmetic. */
export function nearestInt(fval: number): number {
  const val = fr(fval + 12582912);
  if (val >= 8388608 && val < 16777216) return val - 12582912;
  bits[0] = val;
  return ((ints[0] as number) & 0x007fffff) - 0x00400000;
}

/** make_qx_quants' per-element weights for the group being searched (stored as float32, as C's `float w`). */
const qxWeights = new Float32Array(256);

/** The minimum a make_qkx* search settles on, negated (`*the_min`). */
export const searchResult = { min: 0 };

/**
 * make_qx_quants: signed levels L in [0, 2·nmax) around nmax, and the scale. `qw` (importance
 * weights) replaces the rmse_type weighting when given.
 */
export function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  L: Uint8Array | Int8Array,
  lo: number,
  rmseType: number,
  qw: Float32Array | null,
  qwo: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i] as number;
    const ax = Math.abs(v);
    if (ax > amax) {
      amax = ax;
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = fr(-nmax / max);
  if (rmseType === 0) {
    for (let i = 0; i < n; i++) {
      const l = nearestInt(fr(iscale * (x[xo + i] as number)));
      L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
    }
    return fr(1 / iscale);
  }
  let returnEarly = false;
  if (rmseType < 0) {
    rmseType = -rmseType;
    returnEarly = true;
  }
  // The weights once per group (x², 1, |x|, sqrt|x|, or the importance weights), not per candidate.
  for (let i = 0; i < n; i++) {
    const v = x[xo + i] as number;
    qxWeights[i] =
      qw !== null
        ? (qw[qwo + i] as number)
        : rmseType === 1
          ? v * v
          : rmseType === 2
            ? 1
            : rmseType === 3
              ? Math.abs(v)
              : Math.sqrt(Math.abs(v));
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i] as number;
    let l = nearestInt(fr(iscale * v));
    l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
    L[lo + i] = l + nmax;
    const w = qxWeights[i] as number;
    sumlx = fr(sumlx + fr(fr(w * v) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  let scale = suml2 !== 0 ? fr(sumlx / suml2) : 0;
  if (returnEarly) return suml2 > 0 ? fr(0.5 * fr(scale + fr(1 / iscale))) : fr(1 / iscale);
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(F_0_1 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i] as number;
      let l = nearestInt(fr(iscale * v));
      l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
      const w = qxWeights[i] as number;
      sumlx = fr(sumlx + fr(fr(w * v) * l));
      suml2 = fr(suml2 + fr(fr(w * l) * l));
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fr(iscale * (x[xo + i] as number)));
        L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}

/** make_q3_quants with do_rmse: levels in [0, 2·nmax) and the scale, refined by coordinate descent. */
export function makeQ3Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  L: Int8Array,
  lo: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i] as number;
    const ax = Math.abs(v);
    if (ax > amax) {
      amax = ax;
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = fr(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i] as number;
    let l = nearestInt(fr(iscale * v));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lo + i] = l;
    const w = fr(v * v);
    sumlx = fr(sumlx + fr(fr(w * v) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i] as number;
      const w = fr(v * v);
      const li = L[lo + i] as number;
      let slx = fr(sumlx - fr(fr(w * v) * li));
      if (slx > 0) {
        let sl2 = fr(suml2 - fr(fr(w * li) * li));
        let newL = nearestInt(fr(fr(v * sl2) / slx));
        newL = Math.max(-nmax, Math.min(nmax - 1, newL));
        if (newL !== li) {
          slx = fr(slx + fr(fr(w * v) * newL));
          sl2 = fr(sl2 + fr(fr(w * newL) * newL));
          if (sl2 > 0 && fr(fr(slx * slx) * suml2) > fr(fr(sumlx * sumlx) * sl2)) {
            L[lo + i] = newL;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (changed === 0) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = (L[lo + i] as number) + nmax;
  return suml2 > 0 ? fr(sumlx / suml2) : 0;
}

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

/** make_qp_quants: unsigned levels in [0, nmax] for non-negative x (the scales of a super-block) under weights. */
export function makeQpQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  L: Uint8Array,
  qw: Float32Array,
): number {
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    // MAX(max, x[i]) as C evaluates it: max > x ? max : x.
    max = max > v ? max : v;
  }
  if (max < GROUP_MAX_EPS) {
    L.fill(0, 0, n);
    return 0;
  }
  let iscale = fr(nmax / max);
  for (let i = 0; i < n; i++) L[i] = nearestInt(fr(iscale * (x[i] as number)));
  const scale = fr(1 / iscale);
  let bestMse = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    const diff = fr(v - fr(scale * (L[i] as number)));
    bestMse = fr(bestMse + fr(fr((qw[i] as number) * diff) * diff));
  }
  for (let is = -4; is <= 4; is++) {
    if (is === 0) continue;
    const iscaleIs = fr(fr(fr(F_0_1 * is) + nmax) / max);
    const scaleIs = fr(1 / iscaleIs);
    let mse = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i] as number;
      const l = Math.min(nmax, nearestInt(fr(iscaleIs * v)));
      const diff = fr(v - fr(scaleIs * l));
      mse = fr(mse + fr(fr((qw[i] as number) * diff) * diff));
    }
    if (mse < bestMse) {
      bestMse = mse;
      iscale = iscaleIs;
    }
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    const l = Math.min(nmax, nearestInt(fr(iscale * v)));
    L[i] = l;
    const w = qw[i] as number;
    sumlx = fr(sumlx + fr(fr(w * v) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i] as number;
      const w = qw[i] as number;
      const li = L[i] as number;
      let slx = fr(sumlx - fr(fr(w * v) * li));
      let sl2 = fr(suml2 - fr(fr(w * li) * li));
      if (slx > 0 && sl2 > 0) {
        const newL = Math.min(nmax, nearestInt(fr(fr(v * sl2) / slx)));
        if (newL !== li) {
          slx = fr(slx + fr(fr(w * v) * newL));
          sl2 = fr(sl2 + fr(fr(w * newL) * newL));
          if (fr(fr(slx * slx) * suml2) > fr(fr(sumlx * sumlx) * sl2)) {
            L[i] = newL;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (changed === 0) break;
  }
  return suml2 > 0 ? fr(sumlx / suml2) : 0;
}

/** get_scale_min_k4: the 6-bit scale and min of sub-block j from a Q4_K / Q5_K scales[12] at `at`. */
export function scaleMinK4(j: number, q: Uint8Array, at: number): { sc: number; m: number } {
  if (j < 4) return { sc: (q[at + j] as number) & 63, m: (q[at + j + 4] as number) & 63 };
  return {
    sc: ((q[at + j + 4] as number) & 0xf) | (((q[at + j - 4] as number) >> 6) << 4),
    m: ((q[at + j + 4] as number) >> 4) | (((q[at + j] as number) >> 6) << 4),
  };
}
