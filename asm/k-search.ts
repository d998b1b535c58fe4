// AssemblyScript, compiled to WebAssembly by scripts/build-wasm.mjs into
// src/gguf/quantize/k-search-wasm.ts (the bytes, base64); src/gguf/quantize/k-search-kernels.ts
// loads them. The three searches that dominate the k-quant encoders (ggml-quants.c:
// make_qkx2_quants / make_qkx3_quants, make_qx_quants, make_q3_quants) in WebAssembly's f32,
// which is C's float on baseline x86-64 operation for operation (IEEE binary32, round to nearest
// even, no fused multiply-add, denormals kept), so no Math.fround is needed. Element-wise steps
// run four lanes at a time (f32x4: each lane is the same scalar operation, so the same bits);
// every sum is still added one term at a time in C's order. Q3_K's encoder runs here whole
// (q3KRow: quantize_row_q3_K_ref, scales, fp16 conversion and bit packing included), its 16
// make_q3_quants searches per block one to a lane.
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

// Q3_K rows, whole: quantize_row_q3_K_ref block after block, so JavaScript makes one call per
// slab of up to Q3_ROW_BLOCKS blocks (values into Q3_ROW_X, bytes out of Q3_ROW_Q).
const Q3_ROW_BLOCKS = 64;
const Q3_TYPE_SIZE = 110;
const Q3_ROW_X = memory.data(Q3_ROW_BLOCKS * 256 * 4, 16);
const Q3_ROW_Q = memory.data(Q3_ROW_BLOCKS * Q3_TYPE_SIZE, 16);
/**
 * A block's 16 groups, four to a vector: element i of groups 4q…4q+3 at (16q + i) · 16 bytes, so
 * each lane runs one group's make_q3_quants, the same scalar operations in the same order.
 */
const TX = memory.data(256 * 4, 16);
const TW = memory.data(256 * 4, 16);
const TWX = memory.data(256 * 4, 16);
const TL = memory.data(256 * 4, 16);
/** Σ w·x·l and Σ w·l² of each quad's four groups. */
const TSLX = memory.data(4 * 16, 16);
const TSL2 = memory.data(4 * 16, 16);
/** The block's levels in [0, 8) in element order, and its 16 group scales. */
const Q3_L = memory.data(256, 16);
const Q3_SCALES = memory.data(16 * 4, 16);

export function q3RowBlocks(): i32 {
  return Q3_ROW_BLOCKS;
}
export function q3RowXPtr(): usize {
  return Q3_ROW_X;
}
export function q3RowQPtr(): usize {
  return Q3_ROW_Q;
}

/**
 * The 4 × 4 transposes between a block (16 groups of 16 lanes-sized values at `src`, row stride
 * 64 bytes) and the quads at `dst`: element 4c + t of groups 4q…4q+3 from the four rows' chunk c.
 */
function transposeIn(src: usize, dst: usize): void {
  for (let q: usize = 0; q < 4; q++) {
    for (let c: usize = 0; c < 4; c++) {
      const at = src + (q << 8) + (c << 4);
      const r0 = v128.load(at);
      const r1 = v128.load(at + 64);
      const r2 = v128.load(at + 128);
      const r3 = v128.load(at + 192);
      const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
      const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const out = dst + (q << 8) + (c << 6);
      v128.store(out, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(out + 16, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(out + 32, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(out + 48, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
  }
}

/**
 * make_q3_quants(16, nmax, …, do_rmse) on the 16 groups of the transposed block, a quad per
 * vector: scales into Q3_SCALES, levels (L + nmax, or 0 for an all-zero group) into TL. The
 * passes of coordinate descent step the four quads in turn, so four independent chains are in
 * flight; a group whose pass changed nothing keeps its state through the passes others still make.
 */
function q3Search(nmax: i32): void {
  const low = i32x4.splat(-nmax);
  const top = i32x4.splat(nmax - 1);
  const vzero = f32x4.splat(0);
  for (let q: usize = 0; q < 4; q++) {
    const base = q << 8;
    let amax = vzero;
    let xmax = vzero;
    for (let o: usize = 0; o < 256; o += 16) {
      const v = v128.load(TX + base + o);
      const ax = f32x4.abs(v);
      const bigger = f32x4.gt(ax, amax);
      amax = v128.bitselect(ax, amax, bigger);
      xmax = v128.bitselect(v, xmax, bigger);
    }
    // An all-zero group's lane computes garbage (iscale ±inf) that is masked out at the end.
    v128.store(Q3_SCALES + (q << 4), f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS)));
    const iscale = f32x4.div(f32x4.splat(<f32>-nmax), xmax);
    let slx = vzero;
    let sl2 = vzero;
    for (let o: usize = 0; o < 256; o += 16) {
      const v = v128.load(TX + base + o);
      const l = f32x4.convert_i32x4_s(
        i32x4.min_s(i32x4.max_s(nearestInt4(f32x4.mul(iscale, v)), low), top),
      );
      const w = f32x4.mul(v, v);
      const wx = f32x4.mul(w, v);
      v128.store(TW + base + o, w);
      v128.store(TWX + base + o, wx);
      v128.store(TL + base + o, l);
      slx = f32x4.add(slx, f32x4.mul(wx, l));
      sl2 = f32x4.add(sl2, f32x4.mul(f32x4.mul(w, l), l));
    }
    v128.store(TSLX + (q << 4), slx);
    v128.store(TSL2 + (q << 4), sl2);
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = i32x4.splat(0);
    for (let o: usize = 0; o < 256; o += 16) {
      for (let q: usize = 0; q < 4; q++) {
        const at = (q << 8) + o;
        const v = v128.load(TX + at);
        const w = v128.load(TW + at);
        const wx = v128.load(TWX + at);
        const li = v128.load(TL + at);
        const slxAll = v128.load(TSLX + (q << 4));
        const sl2All = v128.load(TSL2 + (q << 4));
        let slx = f32x4.sub(slxAll, f32x4.mul(wx, li));
        const positive = f32x4.gt(slx, vzero);
        let sl2 = f32x4.sub(sl2All, f32x4.mul(f32x4.mul(w, li), li));
        const nl = f32x4.convert_i32x4_s(
          i32x4.min_s(i32x4.max_s(nearestInt4(f32x4.div(f32x4.mul(v, sl2), slx)), low), top),
        );
        slx = f32x4.add(slx, f32x4.mul(wx, nl));
        sl2 = f32x4.add(sl2, f32x4.mul(f32x4.mul(w, nl), nl));
        const better = f32x4.gt(
          f32x4.mul(f32x4.mul(slx, slx), sl2All),
          f32x4.mul(f32x4.mul(slxAll, slxAll), sl2),
        );
        const take = v128.and(
          v128.and(positive, f32x4.ne(nl, li)),
          v128.and(f32x4.gt(sl2, vzero), better),
        );
        v128.store(TL + at, v128.bitselect(nl, li, take));
        v128.store(TSLX + (q << 4), v128.bitselect(slx, slxAll, take));
        v128.store(TSL2 + (q << 4), v128.bitselect(sl2, sl2All, take));
        changed = v128.or(changed, take);
      }
    }
    if (!v128.any_true(changed)) break;
  }
  const offset = f32x4.splat(<f32>nmax);
  for (let q: usize = 0; q < 4; q++) {
    const zero = v128.load(Q3_SCALES + (q << 4));
    for (let o: usize = 0; o < 256; o += 16) {
      const at = TL + (q << 8) + o;
      v128.store(at, v128.andnot(f32x4.add(v128.load(at), offset), zero));
    }
    const slx = v128.load(TSLX + (q << 4));
    const sl2 = v128.load(TSL2 + (q << 4));
    const scale = v128.bitselect(f32x4.div(slx, sl2), vzero, f32x4.gt(sl2, vzero));
    v128.store(Q3_SCALES + (q << 4), v128.andnot(scale, zero));
  }
}

/** ggml_compute_fp32_to_fp16 (ggml-impl.h), bit for bit. */
function fp32ToFp16(f: f32): u32 {
  let base: f32 = abs<f32>(f) * reinterpret<f32>(0x77800000) * reinterpret<f32>(0x08800000);
  const w = reinterpret<u32>(f);
  const shl1 = w + w;
  const sign = w & 0x80000000;
  let bias = shl1 & 0xff000000;
  if (bias < 0x71000000) bias = 0x71000000;
  base = reinterpret<f32>((bias >> 1) + 0x07800000) + base;
  const bits = reinterpret<u32>(base);
  const nonsign = ((bits >> 13) & 0x00007c00) + (bits & 0x00000fff);
  return (sign >> 16) | (shl1 > 0xff000000 ? 0x7e00 : nonsign);
}

/** ggml_compute_fp16_to_fp32 (ggml-impl.h), bit for bit. */
function fp16ToFp32(h: u32): f32 {
  const w = h << 16;
  const sign = w & 0x80000000;
  const twoW = w + w;
  const normalized = reinterpret<f32>((twoW >> 4) + (0xe0 << 23)) * reinterpret<f32>(0x07800000);
  const denormalized = reinterpret<f32>((twoW >> 17) | (126 << 23)) - <f32>0.5;
  const magnitude =
    twoW < (<u32>1) << 27 ? reinterpret<u32>(denormalized) : reinterpret<u32>(normalized);
  return reinterpret<f32>(sign | magnitude);
}

/** quantize_row_q3_K_ref of the block at x into the 110 bytes at y. */
function q3KBlock(x: usize, y: usize): void {
  transposeIn(x, TX);
  q3Search(4);
  let maxScale: f32 = 0;
  let amax: f32 = 0;
  for (let j = 0; j < 16; j++) {
    const s = load<f32>(Q3_SCALES + ((<usize>j) << 2));
    if (abs<f32>(s) > amax) {
      amax = abs<f32>(s);
      maxScale = s;
    }
  }
  const sc = y + 96;
  memory.fill(sc, 0, 12);
  let d: u32 = 0;
  if (maxScale !== 0) {
    const iscale: f32 = <f32>-32 / maxScale;
    for (let j = 0; j < 16; j++) {
      // int8_t l = nearest_int(iscale * scales[j]): the low byte, signed; then clamped, offset.
      const l = <i32>(<i8>nearestInt(iscale * load<f32>(Q3_SCALES + ((<usize>j) << 2))));
      putQ3Scale(sc, j, max(-32, min(31, l)) + 32);
    }
    d = fp32ToFp16(<f32>1 / iscale);
  }
  store<u16>(y + 108, <u16>d);
  q3Finish(y, d);
}

/** Stores the 6-bit level l of sub-block j into scales[12] at sc (low nibbles, then the high 2 bits). */
function putQ3Scale(sc: usize, j: i32, l: i32): void {
  if (j < 8) store<u8>(sc + <usize>j, l & 0xf);
  else store<u8>(sc + <usize>(j - 8), load<u8>(sc + <usize>(j - 8)) | ((l & 0xf) << 4));
  const at = sc + 8 + <usize>(j & 3);
  store<u8>(at, load<u8>(at) | ((l >> 4) << (2 * (j >> 2))));
}

/**
 * The encoders' last pass, with the block in TX, the search's levels in TL and the scales and d
 * stored in y: the final levels against the stored scales, d_j = d · (sc_j − 32) per lane (a group
 * whose d_j is 0 keeps the search's levels), then hmask and qs.
 */
function q3Finish(y: usize, d: u32): void {
  const sc = y + 96;
  const d0 = fp16ToFp32(d);
  for (let j = 0; j < 16; j++) {
    const lo: i32 = j < 8 ? load<u8>(sc + <usize>j) & 0xf : load<u8>(sc + <usize>(j - 8)) >> 4;
    const s = (lo | (((load<u8>(sc + 8 + <usize>(j & 3)) >> (2 * (j >> 2))) & 3) << 4)) - 32;
    store<f32>(Q3_SCALES + ((<usize>j) << 2), d0 * <f32>s);
  }
  const vlo = i32x4.splat(-4);
  const vhi = i32x4.splat(3);
  const four = i32x4.splat(4);
  for (let q: usize = 0; q < 4; q++) {
    const vd = v128.load(Q3_SCALES + (q << 4));
    const keep = f32x4.eq(vd, f32x4.splat(0));
    for (let c: usize = 0; c < 4; c++) {
      // Four elements of the quad, back to element order (a transpose), as bytes.
      const at = (q << 8) + (c << 6);
      const l0 = q3Final(at, vd, keep, vlo, vhi, four);
      const l1 = q3Final(at + 16, vd, keep, vlo, vhi, four);
      const l2 = q3Final(at + 32, vd, keep, vlo, vhi, four);
      const l3 = q3Final(at + 48, vd, keep, vlo, vhi, four);
      const t0 = i32x4.shuffle(l0, l1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(l0, l1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(l2, l3, 0, 4, 1, 5);
      const t3 = i32x4.shuffle(l2, l3, 2, 6, 3, 7);
      const out = Q3_L + (q << 6) + (c << 2);
      store<u32>(out, toBytes(i32x4.shuffle(t0, t2, 0, 1, 4, 5)));
      store<u32>(out + 16, toBytes(i32x4.shuffle(t0, t2, 2, 3, 6, 7)));
      store<u32>(out + 32, toBytes(i32x4.shuffle(t1, t3, 0, 1, 4, 5)));
      store<u32>(out + 48, toBytes(i32x4.shuffle(t1, t3, 2, 3, 6, 7)));
    }
  }
  // hmask: bit j / 32 of byte j % 32 for levels above 3; qs: the low two bits, four to a byte.
  const three = i8x16.splat(3);
  let h0 = i8x16.splat(0);
  let h1 = i8x16.splat(0);
  for (let b = 0; b < 8; b++) {
    const at = Q3_L + <usize>(32 * b);
    const bit = i32x4.splat(0x01010101 << b);
    h0 = v128.or(h0, v128.and(i8x16.gt_u(v128.load(at), three), bit));
    h1 = v128.or(h1, v128.and(i8x16.gt_u(v128.load(at + 16), three), bit));
  }
  v128.store(y, h0);
  v128.store(y + 16, h1);
  for (let j: usize = 0; j < 256; j += 128) {
    for (let l: usize = 0; l < 32; l += 16) {
      const at = Q3_L + j + l;
      const qs = v128.or(
        v128.or(v128.and(v128.load(at), three), i8x16.shl(v128.and(v128.load(at + 32), three), 2)),
        v128.or(
          i8x16.shl(v128.and(v128.load(at + 64), three), 4),
          i8x16.shl(v128.and(v128.load(at + 96), three), 6),
        ),
      );
      v128.store(y + 32 + (j >> 2) + l, qs);
    }
  }
}

/** clamp(nearest_int(x / d), −4, 3) + 4 of one transposed vector at `at`, or the search's level where d is 0. */
function q3Final(at: usize, vd: v128, keep: v128, vlo: v128, vhi: v128, four: v128): v128 {
  const l = i32x4.add(
    i32x4.min_s(i32x4.max_s(nearestInt4(f32x4.div(v128.load(TX + at), vd)), vlo), vhi),
    four,
  );
  return v128.bitselect(i32x4.trunc_sat_f32x4_s(v128.load(TL + at)), l, keep);
}

/** Four small non-negative i32 lanes as four bytes. */
function toBytes(l: v128): u32 {
  return i32x4.extract_lane(
    i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(l, l), i16x8.narrow_i32x4_s(l, l)),
    0,
  );
}

/** A group's weights (quantize_row_q3_K_impl's weight[16]) and the groups' sums of them. */
const Q3_W16 = memory.data(16 * 4, 16);
const Q3_SW = memory.data(16 * 4, 16);
/** The scales' 6-bit levels. */
const Q3_LS = memory.data(16, 16);

/**
 * quantize_row_q3_K_impl with importance weights qw (one per value) of the block at x into y:
 * make_qx_quants under weights qw · sqrt(σ² + x²) per group, then on the 16 scales.
 */
function q3KBlockWeighted(x: usize, qw: usize, y: usize): void {
  let sumX2: f32 = 0;
  for (let i: usize = 0; i < 256; i++) {
    const v = load<f32>(x + (i << 2));
    sumX2 += v * v;
  }
  const sigma2: f32 = (<f32>2 * sumX2) / <f32>256;
  for (let j: usize = 0; j < 16; j++) {
    let sumW: f32 = 0;
    for (let l: usize = 0; l < 16; l++) {
      const at = ((j << 4) + l) << 2;
      const v = load<f32>(x + at);
      const w = load<f32>(qw + at) * sqrt<f32>(sigma2 + v * v);
      store<f32>(Q3_W16 + (l << 2), w);
      sumW += w;
    }
    store<f32>(Q3_SW + (j << 2), sumW);
    const scale = qxAt(x + (j << 6), Q3_W16, Q3_L + (j << 4), 16, 4, 1, true);
    store<f32>(Q3_SCALES + (j << 2), scale);
  }
  const sc = y + 96;
  memory.fill(sc, 0, 12);
  const dBlock = qxAt(Q3_SCALES, Q3_SW, Q3_LS, 16, 32, 1, true);
  for (let j = 0; j < 16; j++) putQ3Scale(sc, j, load<u8>(Q3_LS + <usize>j));
  const d = fp32ToFp16(dBlock);
  store<u16>(y + 108, <u16>d);
  // The last pass reads the block and the search's levels transposed.
  transposeIn(x, TX);
  for (let g = 0; g < 16; g++) {
    for (let i = 0; i < 16; i++) {
      const at = ((<usize>(((g >> 2) << 4) + i)) << 4) + ((<usize>(g & 3)) << 2);
      store<f32>(TL + at, <f32>load<u8>(Q3_L + <usize>((g << 4) + i)));
    }
  }
  q3Finish(y, d);
}

const Q3_ROW_W = memory.data(Q3_ROW_BLOCKS * 256 * 4, 16);

export function q3RowWPtr(): usize {
  return Q3_ROW_W;
}

/** quantize_row_q3_K_impl on the n blocks in Q3_ROW_X under the weights in Q3_ROW_W, bytes into Q3_ROW_Q. */
export function q3KRowWeighted(n: i32): void {
  for (let i = 0; i < n; i++) {
    const at = (<usize>i) << 10;
    q3KBlockWeighted(Q3_ROW_X + at, Q3_ROW_W + at, Q3_ROW_Q + <usize>(i * Q3_TYPE_SIZE));
  }
}

/** quantize_row_q3_K_ref on the n blocks in Q3_ROW_X (n ≤ Q3_ROW_BLOCKS), bytes into Q3_ROW_Q. */
export function q3KRow(n: i32): void {
  for (let i = 0; i < n; i++) {
    q3KBlock(Q3_ROW_X + ((<usize>i) << 10), Q3_ROW_Q + <usize>(i * Q3_TYPE_SIZE));
  }
}
