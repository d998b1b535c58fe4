import { fp32ToFp16 } from "../fp16.js";
import { findInvalidHalfBlock, halfAt, putHalf } from "./fp16-scales.js";
import { levels63, packScalesMinsK4, requantizeK4 } from "./k-scales.js";
import { F_0_1, makeQpQuants, scaleMinK4 } from "./k-search.js";
import { makeQkxQuants, searchResult } from "./k-search-kernels.js";
import type { BlockFormat } from "./types.js";

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 176; // fp16 d, fp16 dmin, scales[12], qh[32], qs[128]

const L = new Uint8Array(QK_K);
const weights = new Float32Array(32);
const scales = new Float32Array(8);
const mins = new Float32Array(8);
const ls = new Uint8Array(8);
const lm = new Uint8Array(8);
const sw = new Float32Array(8);

/** Low nibbles to qs, fifth bits to qh (bit 2k and 2k+1 for the k-th pair of sub-blocks). */
function packQs(out: Uint8Array, o: number): void {
  out.fill(0, o + 16, o + 48);
  let m1 = 1;
  let m2 = 2;
  for (let n = 0; n < QK_K; n += 64) {
    for (let j = 0; j < 32; j++) {
      let l1 = L[n + j] as number;
      if (l1 > 15) {
        l1 -= 16;
        out[o + 16 + j] = (out[o + 16 + j] as number) | m1;
      }
      let l2 = L[n + j + 32] as number;
      if (l2 > 15) {
        l2 -= 16;
        out[o + 16 + j] = (out[o + 16 + j] as number) | m2;
      }
      out[o + 48 + n / 2 + j] = l1 | (l2 << 4);
    }
    m1 <<= 2;
    m2 <<= 2;
  }
}

/** quantize_row_q5_K_ref: per 32-value sub-block a make_qkx2_quants scale and min (5-bit levels), both stored as 6-bit levels of fp16 maxima. */
function quantizeRow(x: Float32Array, out: Uint8Array): void {
  const nb = x.length / QK_K;
  for (let i = 0; i < nb; i++) {
    const xb = i * QK_K;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) {
        const v = x[xb + 32 * j + l] as number;
        sumX2 = fr(sumX2 + fr(v * v));
      }
      const avX = fr(Math.sqrt(fr(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[xb + 32 * j + l] as number);
      const scale = makeQkxQuants(
        32,
        31,
        x,
        xb + 32 * j,
        weights,
        L,
        32 * j,
        -0.5,
        F_0_1,
        15,
        false,
      );
      scales[j] = scale;
      mins[j] = searchResult.min;
      if (scale > maxScale) maxScale = scale;
      if ((mins[j] as number) > maxMin) maxMin = mins[j] as number;
    }
    levels63(scales, maxScale, ls);
    levels63(mins, maxMin, lm);
    const o = i * TYPE_SIZE;
    packScalesMinsK4(out, o + 4, ls, lm);
    putHalf(out, o, fp32ToFp16(fr(maxScale / 63)));
    putHalf(out, o + 2, fp32ToFp16(fr(maxMin / 63)));
    requantizeK4(x, xb, out, o, 31, L);
    packQs(out, o);
  }
}

/** quantize_row_q5_K_impl (an imatrix given): make_qkx3_quants under the weights, then make_qp_quants on the scales and mins. */
function quantizeRowWeighted(x: Float32Array, out: Uint8Array, qw: Float32Array): void {
  const nb = x.length / QK_K;
  for (let i = 0; i < nb; i++) {
    const xb = i * QK_K;
    let sumX2 = 0;
    for (let l = 0; l < QK_K; l++) {
      const v = x[xb + l] as number;
      sumX2 = fr(sumX2 + fr(v * v));
    }
    const sigma2 = fr(fr(2 * sumX2) / QK_K);
    for (let j = 0; j < 8; j++) {
      for (let l = 0; l < 32; l++) {
        const v = x[xb + 32 * j + l] as number;
        weights[l] = fr((qw[xb + 32 * j + l] as number) * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
      }
      let sumw = 0;
      for (let l = 0; l < 32; l++) sumw = fr(sumw + (weights[l] as number));
      sw[j] = sumw;
      scales[j] = makeQkxQuants(
        32,
        31,
        x,
        xb + 32 * j,
        weights,
        L,
        32 * j,
        fr(-0.9),
        fr(0.05),
        36,
        false,
      );
      mins[j] = searchResult.min;
    }
    const dBlock = makeQpQuants(8, 63, scales, ls, sw);
    const mBlock = makeQpQuants(8, 63, mins, lm, sw);
    const o = i * TYPE_SIZE;
    packScalesMinsK4(out, o + 4, ls, lm);
    putHalf(out, o, fp32ToFp16(dBlock));
    putHalf(out, o + 2, fp32ToFp16(mBlock));
    requantizeK4(x, xb, out, o, 31, L);
    packQs(out, o);
  }
}

/** dequantize_row_q5_K: y = d·sc·(q + 16·h) − dmin·m per 32-value sub-block. */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  const nb = y.length / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o);
    const min = halfAt(q, o + 2);
    let yo = i * QK_K;
    let u1 = 1;
    let u2 = 2;
    for (let j = 0, is = 0; j < QK_K; j += 64, is += 2) {
      const a = scaleMinK4(is, q, o + 4);
      const d1 = fr(d * a.sc);
      const m1 = fr(min * a.m);
      const b = scaleMinK4(is + 1, q, o + 4);
      const d2 = fr(d * b.sc);
      const m2 = fr(min * b.m);
      const qs = o + 48 + j / 2;
      for (let l = 0; l < 32; l++) {
        const h = (q[o + 16 + l] as number) & u1 ? 16 : 0;
        y[yo++] = fr(fr(d1 * (((q[qs + l] as number) & 0xf) + h)) - m1);
      }
      for (let l = 0; l < 32; l++) {
        const h = (q[o + 16 + l] as number) & u2 ? 16 : 0;
        y[yo++] = fr(fr(d2 * (((q[qs + l] as number) >> 4) + h)) - m2);
      }
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

export const Q5_K: BlockFormat = {
  name: "Q5_K",
  type: 13,
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  quantizeRow,
  quantizeRowWeighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [0, 2]),
};
