/**
 * The k-quant scale searches that dominate the encoders' time (ggml-quants.c make_qkx2_quants /
 * make_qkx3_quants, make_qx_quants, make_q3_quants) and the encoders' last pass, run in WebAssembly: asm/k-search.ts, built
 * into k-search-wasm.ts by scripts/build-wasm.mjs. WebAssembly's f32 is C's float operation for
 * operation, so the bytes are llama-quantize's without a Math.fround per operation. Each call
 * copies its group (or, for the block calls, a loaded 256-value block) into the module's memory
 * and the levels back; one instance per thread. Q3_K's whole encoder runs there too, a slab of
 * blocks per call: quantizeRowQ3K, quantizeRowWeightedQ3K (with an imatrix).
 */
import { K_SEARCH_WASM } from "./k-search-wasm.js";

interface KSearchExports {
  memory: WebAssembly.Memory;
  xPtr(): number;
  wPtr(): number;
  levelsPtr(): number;
  lastMin(): number;
  qkx(n: number, nmax: number, rmin: number, rdelta: number, nstep: number, mad: number): number;
  qx(n: number, nmax: number, rmseType: number, weighted: number): number;
  blockPtr(): number;
  blockLevelsPtr(): number;
  blockLevels(at: number, n: number, dm: number, d: number, lo: number, hi: number): void;
  blockWeightsPtr(): number;
  blockScalesPtr(): number;
  qxBlock(nmax: number, rmseType: number, weighted: number): void;
  q3RowBlocks(): number;
  q3RowXPtr(): number;
  q3RowQPtr(): number;
  q3KRow(blocks: number): void;
  q3RowWPtr(): number;
  q3KRowWeighted(blocks: number): void;
}

const kernels = new WebAssembly.Instance(
  new WebAssembly.Module(Buffer.from(K_SEARCH_WASM, "base64")),
  {},
).exports as unknown as KSearchExports;
const GROUP = 256;
const xIn = new Float32Array(kernels.memory.buffer, kernels.xPtr(), GROUP);
const wIn = new Float32Array(kernels.memory.buffer, kernels.wPtr(), GROUP);
const levelsOut = new Uint8Array(kernels.memory.buffer, kernels.levelsPtr(), GROUP);

/** The minimum a make_qkx* search settles on, negated (`*the_min`). */
export const searchResult = { min: 0 };

function checkGroup(n: number): void {
  if (n > GROUP || n % 4 !== 0) throw new RangeError(`k-quant search group of ${n} values`);
}

function copyIn(n: number, x: Float32Array, xo: number, w: Float32Array | null, wo: number): void {
  checkGroup(n);
  for (let i = 0; i < n; i++) xIn[i] = x[xo + i] as number;
  if (w !== null) for (let i = 0; i < n; i++) wIn[i] = w[wo + i] as number;
}

function copyOut(n: number, L: Uint8Array | Int8Array, lo: number): void {
  for (let i = 0; i < n; i++) L[lo + i] = levelsOut[i] as number;
}

/**
 * make_qkx2_quants (and make_qkx3_quants, called with importance weights): levels in [0, nmax]
 * with a scale and a minimum; the negated minimum goes to searchResult.min.
 */
export function makeQkxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): number {
  copyIn(n, x, xo, weights, 0);
  const scale = kernels.qkx(n, nmax, rmin, rdelta, nstep, useMad ? 1 : 0);
  copyOut(n, L, lo);
  searchResult.min = kernels.lastMin();
  return scale;
}

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
  copyIn(n, x, xo, qw, qwo);
  const scale = kernels.qx(n, nmax, rmseType, qw !== null ? 1 : 0);
  copyOut(n, L, lo);
  return scale;
}

const blockIn = new Float32Array(kernels.memory.buffer, kernels.blockPtr(), GROUP);
const blockOut = new Uint8Array(kernels.memory.buffer, kernels.blockLevelsPtr(), GROUP);

/** Loads the 256 values of a k-quant block at x[xo] for blockLevels. */
export function loadBlock(x: Float32Array, xo: number): void {
  for (let i = 0; i < GROUP; i++) blockIn[i] = x[xo + i] as number;
}

/**
 * The encoders' last pass over n values of the loaded block from `at`: L[i] =
 * clamp(nearest_int((x + dm) / d), lo, hi) − lo (dm = 0: nearest_int(x / d)).
 */
export function blockLevels(
  at: number,
  n: number,
  dm: number,
  d: number,
  lo: number,
  hi: number,
  L: Uint8Array | Int8Array,
): void {
  kernels.blockLevels(at, n, dm, d, lo, hi);
  for (let i = at; i < at + n; i++) L[i] = blockOut[i] as number;
}

const blockWeights = new Float32Array(kernels.memory.buffer, kernels.blockWeightsPtr(), GROUP);
const blockScales = new Float32Array(kernels.memory.buffer, kernels.blockScalesPtr(), 16);

function copyBlockOut(L: Uint8Array | Int8Array, scales: Float32Array): void {
  for (let i = 0; i < GROUP; i++) L[i] = blockOut[i] as number;
  for (let j = 0; j < 16; j++) scales[j] = blockScales[j] as number;
}

/**
 * makeQxQuants on each of the loaded block's 16 groups of 16 values (Q6_K's encoder), with the
 * importance weights at qw[qwo] when given: the scales into `scales`, the levels into L.
 */
export function makeQxQuantsBlock(
  nmax: number,
  rmseType: number,
  qw: Float32Array | null,
  qwo: number,
  L: Int8Array,
  scales: Float32Array,
): void {
  if (qw !== null) for (let i = 0; i < GROUP; i++) blockWeights[i] = qw[qwo + i] as number;
  kernels.qxBlock(nmax, rmseType, qw !== null ? 1 : 0);
  copyBlockOut(L, scales);
}

const Q3_TYPE_SIZE = 110;
const q3Blocks = kernels.q3RowBlocks();
const q3X = new Float32Array(kernels.memory.buffer, kernels.q3RowXPtr(), q3Blocks * GROUP);
const q3Q = new Uint8Array(kernels.memory.buffer, kernels.q3RowQPtr(), q3Blocks * Q3_TYPE_SIZE);

const q3W = new Float32Array(kernels.memory.buffer, kernels.q3RowWPtr(), q3Blocks * GROUP);

/** quantize_row_q3_K_ref on x (whole 256-value blocks) into out, the module doing whole slabs of blocks. */
export function quantizeRowQ3K(x: Float32Array, out: Uint8Array): void {
  const blocks = x.length / GROUP;
  for (let b = 0; b < blocks; b += q3Blocks) {
    const n = Math.min(q3Blocks, blocks - b);
    q3X.set(x.subarray(b * GROUP, (b + n) * GROUP));
    kernels.q3KRow(n);
    out.set(q3Q.subarray(0, n * Q3_TYPE_SIZE), b * Q3_TYPE_SIZE);
  }
}

/** quantize_row_q3_K_impl on one row x under its importance weights qw (one per value), into out. */
export function quantizeRowWeightedQ3K(x: Float32Array, out: Uint8Array, qw: Float32Array): void {
  const blocks = x.length / GROUP;
  for (let b = 0; b < blocks; b += q3Blocks) {
    const n = Math.min(q3Blocks, blocks - b);
    q3X.set(x.subarray(b * GROUP, (b + n) * GROUP));
    q3W.set(qw.subarray(b * GROUP, (b + n) * GROUP));
    kernels.q3KRowWeighted(n);
    out.set(q3Q.subarray(0, n * Q3_TYPE_SIZE), b * Q3_TYPE_SIZE);
  }
}
