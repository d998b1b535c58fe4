import { fp32ToFp16 } from "../fp16.js";
import { findInvalidHalfBlock, halfAt, putHalf } from "./fp16-scales.js";
import { levels63, packScalesMinsK4, requantizeK4 } from "./k-scales.js";
import { F_0_1, makeQpQuants, scaleMinK4 } from "./k-search.js";
import { makeQkxQuants, searchResult } from "./k-search-kernels.js";
import type { BlockFormat } from "./types.js";

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 144; // fp16 d, fp16 dmin, scales[12], qs[128]

const L = new Uint8Array(QK_K);
const weights = new Float32Array(32);
const scales = new Float32Array(8);
const mins = new Float32Array(8);
const ls = new Uint8Array(8);
const lm = new Uint8Array(8);
const sw = new Float32Array(8);

function packQs(out: Uint8Array, o: number): void {
  for (let j = 0; j < QK_K; j += 64) {
    for (let l = 0; l < 32; l++) {
      out[o + 16 + j / 2 + l] = (L[j + l] as number) | ((L[j + l + 32] as number) << 4);
    }
  }
}

/** quantize_row_q4_K_ref: per 32-value sub-block a make_qkx2_quants scale and min, both stored as 6-bit levels of fp16 maxima. */
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
      const scale = makeQkxQuants(32, 15, x, xb + 32 * j, weights, L, 32 * j, -1, F_0_1, 20, false);
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
    requantizeK4(x, xb, out, o, 15, L);
    packQs(out, o);
  }
}

/** quantize_row_q4_K_impl (an imatrix given): make_qkx3_quants under the weights, then make_qp_quants on the scales and mins. */
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
        15,
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
    requantizeK4(x, xb, out, o, 15, L);
    packQs(out, o);
  }
}

/** dequantize_row_q4_K: y = d·sc·q − dmin·m per 32-value sub-block. */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  const nb = y.length / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o);
    const min = halfAt(q, o + 2);
    let yo = i * QK_K;
    for (let j = 0, is = 0; j < QK_K; j += 64, is += 2) {
      const a = scaleMinK4(is, q, o + 4);
      const d1 = fr(d * a.sc);
      const m1 = fr(min * a.m);
      const b = scaleMinK4(is + 1, q, o + 4);
      const d2 = fr(d * b.sc);
      const m2 = fr(min * b.m);
      const qs = o + 16 + j / 2;
      for (let l = 0; l < 32; l++) y[yo++] = fr(fr(d1 * ((q[qs + l] as number) & 0xf)) - m1);
      for (let l = 0; l < 32; l++) y[yo++] = fr(fr(d2 * ((q[qs + l] as number) >> 4)) - m2);
    }
  }
}

export const Q4_K: BlockFormat = {
  name: "Q4_K",
  type: 12,
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  quantizeRow,
  quantizeRowWeighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [0, 2]),
};
