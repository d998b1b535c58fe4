import { fp16ToFp32, fp32ToFp16 } from "../fp16.js";
import { findInvalidHalfBlock, getHalf, halfAt, putHalf } from "./fp16-scales.js";
import { GROUP_MAX_EPS, nearestInt } from "./k-search.js";
import { blockLevels, loadBlock, makeQxQuantsBlock } from "./k-search-kernels.js";
import type { BlockFormat } from "./types.js";

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 210; // ql[128], qh[64], int8 scales[16], fp16 d
const D_AT = 208;
const SCALES_AT = 192;

const L = new Int8Array(QK_K);
const scales = new Float32Array(16);

function encode(
  x: Float32Array,
  xb: number,
  out: Uint8Array,
  o: number,
  qw: Float32Array | null,
): void {
  let maxScale = 0;
  let maxAbsScale = 0;
  loadBlock(x, xb);
  makeQxQuantsBlock(32, 1, qw, xb, L, scales);
  for (let ib = 0; ib < 16; ib++) {
    const scale = scales[ib] as number;
    const abs = Math.abs(scale);
    if (abs > maxAbsScale) {
      maxAbsScale = abs;
      maxScale = scale;
    }
  }
  if (maxAbsScale < GROUP_MAX_EPS) {
    out.fill(0, o, o + TYPE_SIZE);
    return;
  }
  const iscale = fr(-128 / maxScale);
  putHalf(out, o + D_AT, fp32ToFp16(fr(1 / iscale)));
  for (let ib = 0; ib < 16; ib++) {
    out[o + SCALES_AT + ib] = Math.min(127, nearestInt(fr(iscale * (scales[ib] as number)))) & 0xff;
  }
  const d0 = fp16ToFp32(getHalf(out, o + D_AT));
  for (let j = 0; j < 16; j++) {
    const d = fr(d0 * (((out[o + SCALES_AT + j] as number) << 24) >> 24));
    // clamp(nearest_int(x / d), -32, 31) + 32
    if (d) blockLevels(16 * j, 16, 0, d, -32, 31, L);
  }
  for (let j = 0; j < QK_K; j += 128) {
    const ql = o + j / 2;
    const qh = o + 128 + j / 4;
    for (let l = 0; l < 32; l++) {
      const a = L[j + l] as number;
      const b = L[j + l + 32] as number;
      const c = L[j + l + 64] as number;
      const e = L[j + l + 96] as number;
      out[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
      out[ql + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
      out[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
    }
  }
}

/** quantize_row_q6_K_ref: per 16 values a make_qx_quants scale, stored as an int8 level of one fp16 d. */
function quantizeRow(x: Float32Array, out: Uint8Array): void {
  for (let i = 0; i < x.length / QK_K; i++) encode(x, i * QK_K, out, i * TYPE_SIZE, null);
}

/** quantize_row_q6_K_impl: the same with the importance weights in make_qx_quants. */
function quantizeRowWeighted(x: Float32Array, out: Uint8Array, qw: Float32Array): void {
  for (let i = 0; i < x.length / QK_K; i++) encode(x, i * QK_K, out, i * TYPE_SIZE, qw);
}

/** dequantize_row_q6_K: y = d·sc·(q − 32). */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  const nb = y.length / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o + D_AT);
    for (let n = 0; n < QK_K; n += 128) {
      const ql = o + n / 2;
      const qh = o + 128 + n / 4;
      const sc = o + SCALES_AT + n / 16;
      const yo = i * QK_K + n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = q[qh + l] as number;
        const a = q[ql + l] as number;
        const b = q[ql + l + 32] as number;
        const s = (k: number) => ((q[sc + is + k] as number) << 24) >> 24;
        y[yo + l] = fr(fr(d * s(0)) * (((a & 0xf) | ((h & 3) << 4)) - 32));
        y[yo + l + 32] = fr(fr(d * s(2)) * (((b & 0xf) | (((h >> 2) & 3) << 4)) - 32));
        y[yo + l + 64] = fr(fr(d * s(4)) * (((a >> 4) | (((h >> 4) & 3) << 4)) - 32));
        y[yo + l + 96] = fr(fr(d * s(6)) * (((b >> 4) | (((h >> 6) & 3) << 4)) - 32));
      }
    }
  }
}

export const Q6_K: BlockFormat = {
  name: "Q6_K",
  type: 14,
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  quantizeRow,
  quantizeRowWeighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [D_AT]),
};
