/**
 * nearest_int and make_qp_quants of ggml's k-quant reference quantizers (ggml/src/ggml-quants.c),
 * in float32 as libggml-base computes them: `fr` after every operation, in C's evaluation order,
 * no fused multiply-add (baseline x86-64). The searches that dominate the encoders' time
 * (make_qx_quants, make_q3_quants, make_qkx2/3_quants) are WebAssembly: k-search-kernels.ts.
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
