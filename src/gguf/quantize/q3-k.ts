import { fp16ToFp32, fp32ToFp16 } from "../fp16.js";
import { findInvalidHalfBlock, getHalf, halfAt, putHalf } from "./fp16-scales.js";
import { blockLevels, loadBlock, makeQxQuants, quantizeRowQ3K } from "./k-search-kernels.js";
import type { BlockFormat } from "./types.js";

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 110; // hmask[32], qs[64], scales[12] (6-bit), fp16 d
const QS_AT = 32;
const SCALES_AT = 96;
const D_AT = 108;

const L = new Int8Array(QK_K);
const Ls = new Int8Array(16);
const scales = new Float32Array(16);
const weight = new Float32Array(16);
const sw = new Float32Array(16);

/** Stores the 6-bit level l of sub-block j (low nibbles in scales[0..7], high 2 bits in scales[8..11]). */
function putScale(out: Uint8Array, at: number, j: number, l: number): void {
  if (j < 8) out[at + j] = l & 0xf;
  else out[at + j - 8] = (out[at + j - 8] as number) | ((l & 0xf) << 4);
  out[at + 8 + (j % 4)] = (out[at + 8 + (j % 4)] as number) | ((l >> 4) << (2 * (j >> 2)));
}

/** The signed scale of sub-block j, as the encoder reads it back (int8 arithmetic). */
function scaleAt(q: Uint8Array, at: number, j: number): number {
  const lo = j < 8 ? (q[at + j] as number) & 0xf : (q[at + j - 8] as number) >> 4;
  return (lo | ((((q[at + 8 + (j % 4)] as number) >> (2 * (j >> 2))) & 3) << 4)) - 32;
}

/** Final levels of the loaded block (loadBlock) against the stored scales, the high bit into hmask, two bits into qs. */
function finish(out: Uint8Array, o: number): void {
  const d0 = fp16ToFp32(getHalf(out, o + D_AT));
  for (let j = 0; j < 16; j++) {
    const d = fr(d0 * scaleAt(out, o + SCALES_AT, j));
    // clamp(nearest_int(x / d), -4, 3) + 4
    if (d) blockLevels(16 * j, 16, 0, d, -4, 3, L);
  }
  out.fill(0, o, o + 32);
  let m = 0;
  let hm = 1;
  for (let j = 0; j < QK_K; j++) {
    if ((L[j] as number) > 3) {
      out[o + m] = (out[o + m] as number) | hm;
      L[j] = (L[j] as number) - 4;
    }
    if (++m === 32) {
      m = 0;
      hm <<= 1;
    }
  }
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      out[o + QS_AT + j / 4 + l] =
        (L[j + l] as number) |
        ((L[j + l + 32] as number) << 2) |
        ((L[j + l + 64] as number) << 4) |
        ((L[j + l + 96] as number) << 6);
    }
  }
}

/** quantize_row_q3_K_impl (an imatrix given): make_qx_quants under weights, then on the scales. */
function quantizeRowWeighted(x: Float32Array, out: Uint8Array, qw: Float32Array): void {
  for (let i = 0; i < x.length / QK_K; i++) {
    const xb = i * QK_K;
    const o = i * TYPE_SIZE;
    let sumX2 = 0;
    for (let j = 0; j < QK_K; j++) {
      const v = x[xb + j] as number;
      sumX2 = fr(sumX2 + fr(v * v));
    }
    const sigma2 = fr(fr(2 * sumX2) / QK_K);
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) {
        const v = x[xb + 16 * j + l] as number;
        weight[l] = fr((qw[xb + 16 * j + l] as number) * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
      }
      let sumw = 0;
      for (let l = 0; l < 16; l++) sumw = fr(sumw + (weight[l] as number));
      sw[j] = sumw;
      scales[j] = makeQxQuants(16, 4, x, xb + 16 * j, L, 16 * j, 1, weight, 0);
    }
    out.fill(0, o + SCALES_AT, o + SCALES_AT + 12);
    const dBlock = makeQxQuants(16, 32, scales, 0, Ls, 0, 1, sw, 0);
    for (let j = 0; j < 16; j++) putScale(out, o + SCALES_AT, j, Ls[j] as number);
    putHalf(out, o + D_AT, fp32ToFp16(dBlock));
    loadBlock(x, xb);
    finish(out, o);
  }
}

/** dequantize_row_q3_K: y = d·(sc − 32)·(q − 4·!h). */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  for (let i = 0; i < y.length / QK_K; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o + D_AT);
    let yo = i * QK_K;
    let m = 1;
    let is = 0;
    for (let n = 0; n < QK_K; n += 128) {
      const qs = o + QS_AT + n / 4;
      for (let shift = 0; shift < 8; shift += 2) {
        for (const half of [0, 16]) {
          const dl = fr(d * scaleAt(q, o + SCALES_AT, is++));
          for (let l = 0; l < 16; l++) {
            const v = ((q[qs + half + l] as number) >> shift) & 3;
            const h = (q[o + half + l] as number) & m ? 0 : 4;
            y[yo++] = fr(dl * (v - h));
          }
        }
        m <<= 1;
      }
    }
  }
}

export const Q3_K: BlockFormat = {
  name: "Q3_K",
  type: 11,
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  // quantize_row_q3_K_ref: per 16 values a make_q3_quants scale, stored as a 6-bit level of one fp16 d.
  quantizeRow: quantizeRowQ3K,
  quantizeRowWeighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [D_AT]),
};
