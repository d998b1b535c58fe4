// AssemblyScript, compiled to WebAssembly by scripts/build-wasm.mjs into
// src/gguf/quantize/k-search-wasm.ts (the bytes, base64); src/gguf/quantize/k-search-kernels.ts
// loads them. The three searches that dominate the k-quant encoders (ggml-quants.c:
// make_qkx2_quants / make_qkx3_quants, make_qx_quants, make_q3_quants) in WebAssembly's f32,
// which is C's float on baseline x86-64 operation for operation (IEEE binary32, round to nearest
// even, no fused multiply-add, denormals kept), so no Math.fround is needed. Element-wise steps
// run four lanes at a time (f32x4: each lane is the same scalar operation, so the same bits);
// every sum is still added one term at a time in C's order.
//
// The caller writes the group into X (and its weights into W) and reads the levels from LEVELS;
// n is at most 256 and a multiple of 4 (the encoders use 16 and 32).

const X = memory.data(256 * 4, 16);
const W = memory.data(256 * 4, 16);
/** w · x per element (make_qx_quants' and make_q3_quants' first factor, constant over candidates). */
const WX = memory.data(256 * 4, 16);
/** x − min (make_qkx*), with the best min so far. */
const S = memory.data(256 * 4, 16);
/** The best levels so far and the candidate's, as f32 (integers). */
const BEST = memory.data(256 * 4, 16);
const CAND = memory.data(256 * 4, 16);
const LEVELS = memory.data(256, 16);

const GROUP_MAX_EPS: f32 = 1e-15;
const MAGIC: f32 = 12582912.0;

let resultMin: f32 = 0;

export function xPtr(): usize {
  return X;
}
export function wPtr(): usize {
  return W;
}
export function levelsPtr(): usize {
  return LEVELS;
}
/** make_qkx*'s `*the_min` of the last search (the negated minimum). */
export function lastMin(): f32 {
  return resultMin;
}

/** nearest_int: the 1.5·2^23 trick, bit for bit (C asserts |fval| ≤ 4194303 only in debug builds). */
function nearestInt(fval: f32): i32 {
  return (reinterpret<i32>(fval + MAGIC) & 0x007fffff) - 0x00400000;
}

/** nearest_int of four lanes. */
function nearestInt4(v: v128): v128 {
  return i32x4.sub(
    v128.and(f32x4.add(v, f32x4.splat(MAGIC)), i32x4.splat(0x007fffff)),
    i32x4.splat(0x00400000),
  );
}

/** dst[i] = at[i] + offset (the levels are small integers stored as f32). */
function storeLevels(dst: usize, n: i32, at: usize, offset: i32): void {
  for (let i = 0; i < n; i++) {
    store<u8>(dst + <usize>i, <u8>(<i32>load<f32>(at + ((<usize>i) << 2)) + offset));
  }
}

function shift(n: i32, min: f32): void {
  const vmin = f32x4.splat(min);
  for (let o: usize = 0; o < (<usize>n) << 2; o += 16) {
    v128.store(S + o, f32x4.sub(v128.load(X + o), vmin));
  }
}

/** clamp(nearest_int(iscale · (x − min)), 0, nmax) into `into`. */
function levelsQkx(n: i32, nmax: i32, iscale: f32, into: usize): void {
  const vs = f32x4.splat(iscale);
  const zero = i32x4.splat(0);
  const top = i32x4.splat(nmax);
  for (let o: usize = 0; o < (<usize>n) << 2; o += 16) {
    const l = nearestInt4(f32x4.mul(vs, v128.load(S + o)));
    v128.store(into + o, f32x4.convert_i32x4_s(i32x4.min_s(i32x4.max_s(l, zero), top)));
  }
}

/** Σ w·|diff| or Σ w·diff², diff = scale·l + min − x, in order; with `stop`, ends once it reaches `stopAt` (for non-negative terms). */
function qkxError(
  n: i32,
  scale: f32,
  min: f32,
  levels: usize,
  mad: bool,
  stop: bool,
  stopAt: f32,
): f32 {
  const vs = f32x4.splat(scale);
  const vm = f32x4.splat(min);
  let sum: f32 = 0;
  for (let o: usize = 0; o < (<usize>n) << 2; o += 16) {
    let d = f32x4.sub(f32x4.add(f32x4.mul(vs, v128.load(levels + o)), vm), v128.load(X + o));
    d = mad ? f32x4.abs(d) : f32x4.mul(d, d);
    const t = f32x4.mul(v128.load(W + o), d);
    sum += f32x4.extract_lane(t, 0);
    sum += f32x4.extract_lane(t, 1);
    sum += f32x4.extract_lane(t, 2);
    sum += f32x4.extract_lane(t, 3);
    if (stop && sum >= stopAt) break;
  }
  return sum;
}

/**
 * make_qkx2_quants (make_qkx3_quants differs only in `max <= min`, the same test once
 * min ≤ 0 ≤ max): levels in [0, nmax] into LEVELS, the scale returned, the negated minimum in
 * lastMin().
 */
export function qkx(n: i32, nmax: i32, rmin: f32, rdelta: f32, nstep: i32, mad: bool): f32 {
  let min = load<f32>(X);
  let max = min;
  let sumW = load<f32>(W);
  let sumX: f32 = sumW * min;
  let nonNegative = sumW >= 0;
  for (let i = 1; i < n; i++) {
    const v = load<f32>(X + ((<usize>i) << 2));
    if (v < min) min = v;
    if (v > max) max = v;
    const w = load<f32>(W + ((<usize>i) << 2));
    if (!(w >= 0)) nonNegative = false;
    sumW += w;
    sumX += w * v;
  }
  if (min > 0) min = 0;
  if (max === min) {
    memory.fill(LEVELS, 0, n);
    resultMin = -min;
    return 0;
  }
  shift(n, min);
  let iscale: f32 = <f32>nmax / (max - min);
  let scale: f32 = <f32>1 / iscale;
  levelsQkx(n, nmax, iscale, BEST);
  let bestError = qkxError(n, scale, min, BEST, mad, false, 0);
  for (let is = 0; nstep >= 1 && is <= nstep; is++) {
    // (max - min) and (x - min) with the best min so far, as llama.cpp's loop reads it.
    iscale = (rmin + rdelta * <f32>is + <f32>nmax) / (max - min);
    levelsQkx(n, nmax, iscale, CAND);
    let sumL: f32 = 0;
    let sumL2: f32 = 0;
    let sumXL: f32 = 0;
    for (let o: usize = 0; o < (<usize>n) << 2; o += 16) {
      const l = v128.load(CAND + o);
      const wl = f32x4.mul(v128.load(W + o), l);
      const wll = f32x4.mul(wl, l);
      const wlx = f32x4.mul(wl, v128.load(X + o));
      sumL += f32x4.extract_lane(wl, 0);
      sumL2 += f32x4.extract_lane(wll, 0);
      sumXL += f32x4.extract_lane(wlx, 0);
      sumL += f32x4.extract_lane(wl, 1);
      sumL2 += f32x4.extract_lane(wll, 1);
      sumXL += f32x4.extract_lane(wlx, 1);
      sumL += f32x4.extract_lane(wl, 2);
      sumL2 += f32x4.extract_lane(wll, 2);
      sumXL += f32x4.extract_lane(wlx, 2);
      sumL += f32x4.extract_lane(wl, 3);
      sumL2 += f32x4.extract_lane(wll, 3);
      sumXL += f32x4.extract_lane(wlx, 3);
    }
    const D: f32 = sumW * sumL2 - sumL * sumL;
    if (D > 0) {
      let thisScale: f32 = (sumW * sumXL - sumX * sumL) / D;
      let thisMin: f32 = (sumL2 * sumX - sumL * sumXL) / D;
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = sumXL / sumL2;
      }
      // A float sum of non-negative terms never decreases: once it reaches the best error the
      // candidate cannot win, so the rest of the sum cannot change the outcome.
      const curError = qkxError(n, thisScale, thisMin, CAND, mad, nonNegative, bestError);
      if (curError < bestError) {
        memory.copy(BEST, CAND, (<usize>n) << 2);
        bestError = curError;
        scale = thisScale;
        if (thisMin !== min) {
          min = thisMin;
          shift(n, min);
        }
      }
    }
  }
  storeLevels(LEVELS, n, BEST, 0);
  resultMin = -min;
  return scale;
}

/** The largest magnitude's signed value (the first of equal magnitudes), or 0 below GROUP_MAX_EPS. */
function signedMax(src: usize, n: i32): f32 {
  let max: f32 = 0;
  let amax: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(src + ((<usize>i) << 2));
    const ax = abs<f32>(v);
    if (ax > amax) {
      amax = ax;
      max = v;
    }
  }
  return amax < GROUP_MAX_EPS ? 0 : max;
}

/** clamp(nearest_int(iscale · x), −nmax, nmax − 1) into `into`. */
function levelsSigned(src: usize, n: i32, nmax: i32, iscale: f32, into: usize): void {
  const vs = f32x4.splat(iscale);
  const low = i32x4.splat(-nmax);
  const top = i32x4.splat(nmax - 1);
  for (let o: usize = 0; o < (<usize>n) << 2; o += 16) {
    const l = nearestInt4(f32x4.mul(vs, v128.load(src + o)));
    v128.store(into + o, f32x4.convert_i32x4_s(i32x4.min_s(i32x4.max_s(l, low), top)));
  }
}

/** Σ (w·x)·l and Σ (w·l)·l of the levels at `levels`, in order: into sumlx / suml2. */
let sumlx: f32 = 0;
let suml2: f32 = 0;
function qxSums(n: i32, levels: usize): void {
  let slx: f32 = 0;
  let sl2: f32 = 0;
  for (let o: usize = 0; o < (<usize>n) << 2; o += 16) {
    const l = v128.load(levels + o);
    const a = f32x4.mul(v128.load(WX + o), l);
    const b = f32x4.mul(f32x4.mul(v128.load(W + o), l), l);
    slx += f32x4.extract_lane(a, 0);
    sl2 += f32x4.extract_lane(b, 0);
    slx += f32x4.extract_lane(a, 1);
    sl2 += f32x4.extract_lane(b, 1);
    slx += f32x4.extract_lane(a, 2);
    sl2 += f32x4.extract_lane(b, 2);
    slx += f32x4.extract_lane(a, 3);
    sl2 += f32x4.extract_lane(b, 3);
  }
  sumlx = slx;
  suml2 = sl2;
}

/**
 * make_qx_quants: levels L + nmax in [0, 2·nmax) into LEVELS, the scale returned. With
 * `weighted` the caller's W holds the importance weights; otherwise they follow rmse_type
 * (x², 1, |x|, sqrt|x|).
 */
export function qx(n: i32, nmax: i32, rmseType: i32, weighted: bool): f32 {
  return qxAt(X, W, LEVELS, n, nmax, rmseType, weighted);
}

/** qx of the group at `src` (its importance weights at `weights`), levels into `dst`. */
function qxAt(
  src: usize,
  weights: usize,
  dst: usize,
  n: i32,
  nmax: i32,
  rmseType: i32,
  weighted: bool,
): f32 {
  const xmax = signedMax(src, n);
  if (xmax === 0) {
    memory.fill(dst, 0, n);
    return 0;
  }
  let iscale: f32 = <f32>-nmax / xmax;
  if (rmseType === 0) {
    levelsSigned(src, n, nmax, iscale, BEST);
    storeLevels(dst, n, BEST, nmax);
    return <f32>1 / iscale;
  }
  const returnEarly = rmseType < 0;
  if (returnEarly) rmseType = -rmseType;
  for (let i = 0; i < n; i++) {
    const at = (<usize>i) << 2;
    const v = load<f32>(src + at);
    let w: f32;
    if (weighted) w = load<f32>(weights + at);
    else if (rmseType === 1) w = v * v;
    else if (rmseType === 2) w = 1;
    else if (rmseType === 3) w = abs<f32>(v);
    else w = sqrt<f32>(abs<f32>(v));
    store<f32>(W + at, w);
    store<f32>(WX + at, w * v);
  }
  levelsSigned(src, n, nmax, iscale, BEST);
  qxSums(n, BEST);
  let scale: f32 = suml2 !== 0 ? sumlx / suml2 : 0;
  if (returnEarly) {
    storeLevels(dst, n, BEST, nmax);
    return suml2 > 0 ? <f32>0.5 * (scale + <f32>1 / iscale) : <f32>1 / iscale;
  }
  let best: f32 = scale * sumlx;
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = -(<f32>nmax + <f32>0.1 * <f32>is) / xmax;
    levelsSigned(src, n, nmax, iscale, CAND);
    qxSums(n, CAND);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      memory.copy(BEST, CAND, (<usize>n) << 2);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  storeLevels(dst, n, BEST, nmax);
  return scale;
}

/** make_q3_quants with do_rmse on the group at `src`: levels L + nmax in [0, 2·nmax) into `dst`, refined by coordinate descent. */
function q3At(src: usize, dst: usize, n: i32, nmax: i32): f32 {
  const xmax = signedMax(src, n);
  if (xmax === 0) {
    memory.fill(dst, 0, n);
    return 0;
  }
  const iscale: f32 = <f32>-nmax / xmax;
  for (let i = 0; i < n; i++) {
    const at = (<usize>i) << 2;
    const v = load<f32>(src + at);
    const w = v * v;
    store<f32>(W + at, w);
    store<f32>(WX + at, w * v);
  }
  levelsSigned(src, n, nmax, iscale, BEST);
  qxSums(n, BEST);
  let slxAll = sumlx;
  let sl2All = suml2;
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const at = (<usize>i) << 2;
      const v = load<f32>(src + at);
      const w = load<f32>(W + at);
      const wx = load<f32>(WX + at);
      const li = load<f32>(BEST + at);
      let slx: f32 = slxAll - wx * li;
      if (slx > 0) {
        let sl2: f32 = sl2All - w * li * li;
        let newL = nearestInt((v * sl2) / slx);
        newL = max(-nmax, min(nmax - 1, newL));
        const nl = <f32>newL;
        if (nl !== li) {
          slx += wx * nl;
          sl2 += w * nl * nl;
          if (sl2 > 0 && slx * slx * sl2All > slxAll * slxAll * sl2) {
            store<f32>(BEST + at, nl);
            slxAll = slx;
            sl2All = sl2;
            changed++;
          }
        }
      }
    }
    if (changed === 0) break;
  }
  storeLevels(dst, n, BEST, nmax);
  return sl2All > 0 ? slxAll / sl2All : 0;
}

/** A whole 256-value block, for the encoders' last pass (blockLevels). */
const BLOCK = memory.data(256 * 4, 16);
const BLOCK_LEVELS = memory.data(256, 16);

export function blockPtr(): usize {
  return BLOCK;
}
export function blockLevelsPtr(): usize {
  return BLOCK_LEVELS;
}

/**
 * The k-quant encoders' last pass over n values of BLOCK from `at` (n a multiple of 4):
 * BLOCK_LEVELS[i] = clamp(nearest_int((x + dm) / d), lo, hi) − lo. With dm = 0 it is
 * nearest_int(x / d): x + 0 only turns −0 into +0, and both give level 0.
 */
export function blockLevels(at: i32, n: i32, dm: f32, d: f32, lo: i32, hi: i32): void {
  const vdm = f32x4.splat(dm);
  const vd = f32x4.splat(d);
  const vlo = i32x4.splat(lo);
  const vhi = i32x4.splat(hi);
  for (let i = at; i < at + n; i += 4) {
    const q = f32x4.div(f32x4.add(v128.load(BLOCK + ((<usize>i) << 2)), vdm), vd);
    const l = i32x4.sub(i32x4.min_s(i32x4.max_s(nearestInt4(q), vlo), vhi), vlo);
    // Four levels in [0, 255] into four bytes.
    const bytes = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(l, l), i16x8.narrow_i32x4_s(l, l));
    store<u32>(BLOCK_LEVELS + <usize>i, i32x4.extract_lane(bytes, 0));
  }
}

/** Importance weights of the loaded block (qxBlock with `weighted`), and the sub-blocks' scales. */
const BLOCK_WEIGHTS = memory.data(256 * 4, 16);
const BLOCK_SCALES = memory.data(16 * 4, 16);

export function blockWeightsPtr(): usize {
  return BLOCK_WEIGHTS;
}
export function blockScalesPtr(): usize {
  return BLOCK_SCALES;
}

/** make_qx_quants on the loaded block's 16 groups of 16 (Q6_K): scales into BLOCK_SCALES, levels into BLOCK_LEVELS. */
export function qxBlock(nmax: i32, rmseType: i32, weighted: bool): void {
  for (let j = 0; j < 16; j++) {
    const at = (<usize>j) << 6;
    const scale = qxAt(
      BLOCK + at,
      BLOCK_WEIGHTS + at,
      BLOCK_LEVELS + ((<usize>j) << 4),
      16,
      nmax,
      rmseType,
      weighted,
    );
    store<f32>(BLOCK_SCALES + ((<usize>j) << 2), scale);
  }
}

/** make_q3_quants on the loaded block's 16 groups of 16 (Q3_K): scales into BLOCK_SCALES, levels into BLOCK_LEVELS. */
export function q3Block(nmax: i32): void {
  for (let j = 0; j < 16; j++) {
    const scale = q3At(BLOCK + ((<usize>j) << 6), BLOCK_LEVELS + ((<usize>j) << 4), 16, nmax);
    store<f32>(BLOCK_SCALES + ((<usize>j) << 2), scale);
  }
}
