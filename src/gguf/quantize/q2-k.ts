import { fp16ToFp32, fp32ToFp16 } from "../fp16.js";
import { findInvalidHalfBlock, getHalf, halfAt, putHalf } from "./fp16-scales.js";
import { F_0_1, makeQpQuants, nearestInt } from "./k-search.js";
import { blockLevels, loadBlock, makeQkxQuants, searchResult } from "./k-search-kernels.js";
import type { BlockFormat } from "./types.js";

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 84; // scales[16] (4-bit scale | 4-bit min), qs[64], fp16 d, fp16 dmin
const QS_AT = 16;
const D_AT = 80;

const L = new Uint8Array(QK_K);
const weights = new Float32Array(16);
const scales = new Float32Array(16);
const mins = new Float32Array(16);
const sw = new Float32Array(16);
const Ls = new Uint8Array(16);
const Lm = new Uint8Array(16);

/** Final levels against the stored 4-bit scales and mins, then four 2-bit levels per byte. */
function finish(x: Float32Array, xb: number, out: Uint8Array, o: number): void {
  const d0 = fp16ToFp32(getHalf(out, o + D_AT));
  const m0 = fp16ToFp32(getHalf(out, o + D_AT + 2));
  loadBlock(x, xb);
  for (let j = 0; j < 16; j++) {
    const sc = out[o + j] as number;
    const d = fr(d0 * (sc & 0xf));
    // clamp(nearest_int((x + dm) / d), 0, 3)
    if (d) blockLevels(16 * j, 16, fr(m0 * (sc >> 4)), d, 0, 3, L);
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

/** quantize_row_q2_K_ref: per 16 values a make_qkx2_quants scale and min (MAD), each a 4-bit level of an fp16 maximum. */
function quantizeRow(x: Float32Array, out: Uint8Array): void {
  const q4scale = 15;
  for (let i = 0; i < x.length / QK_K; i++) {
    const xb = i * QK_K;
    const o = i * TYPE_SIZE;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xb + 16 * j + l] as number);
      const scale = makeQkxQuants(16, 3, x, xb + 16 * j, weights, L, 16 * j, -0.5, F_0_1, 15, true);
      scales[j] = scale;
      mins[j] = searchResult.min;
      if (scale > maxScale) maxScale = scale;
      if ((mins[j] as number) > maxMin) maxMin = mins[j] as number;
    }
    if (maxScale > 0) {
      const iscale = fr(q4scale / maxScale);
      for (let j = 0; j < 16; j++)
        out[o + j] = nearestInt(fr(iscale * (scales[j] as number))) & 0xff;
      putHalf(out, o + D_AT, fp32ToFp16(fr(maxScale / q4scale)));
    } else {
      out.fill(0, o, o + 16);
      putHalf(out, o + D_AT, 0);
    }
    if (maxMin > 0) {
      const iscale = fr(q4scale / maxMin);
      for (let j = 0; j < 16; j++) {
        const l = nearestInt(fr(iscale * (mins[j] as number)));
        out[o + j] = ((out[o + j] as number) | (l << 4)) & 0xff;
      }
      putHalf(out, o + D_AT + 2, fp32ToFp16(fr(maxMin / q4scale)));
    } else {
      putHalf(out, o + D_AT + 2, 0);
    }
    finish(x, xb, out, o);
  }
}

/** quantize_row_q2_K_impl (an imatrix given): make_qkx3_quants under weights, make_qp_quants on scales and mins. */
function quantizeRowWeighted(x: Float32Array, out: Uint8Array, qw: Float32Array): void {
  for (let i = 0; i < x.length / QK_K; i++) {
    const xb = i * QK_K;
    const o = i * TYPE_SIZE;
    sw.fill(0);
    let sumX2 = 0;
    for (let j = 0; j < QK_K; j++) {
      const v = x[xb + j] as number;
      sumX2 = fr(sumX2 + fr(v * v));
    }
    const sigma2 = fr(sumX2 / QK_K);
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) {
        const v = x[xb + 16 * j + l] as number;
        weights[l] = fr((qw[xb + 16 * j + l] as number) * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
      }
      for (let l = 0; l < 16; l++) sw[j] = fr((sw[j] as number) + (weights[l] as number));
      scales[j] = makeQkxQuants(
        16,
        3,
        x,
        xb + 16 * j,
        weights,
        L,
        16 * j,
        fr(-0.9),
        fr(0.05),
        36,
        false,
      );
      mins[j] = searchResult.min;
    }
    const dm = makeQpQuants(16, 15, scales, Ls, sw);
    const mm = makeQpQuants(16, 15, mins, Lm, sw);
    putHalf(out, o + D_AT, fp32ToFp16(dm));
    putHalf(out, o + D_AT + 2, fp32ToFp16(mm));
    for (let j = 0; j < 16; j++) out[o + j] = ((Ls[j] as number) | ((Lm[j] as number) << 4)) & 0xff;
    finish(x, xb, out, o);
  }
}

/** dequantize_row_q2_K: y = d·sc·q − dmin·m per 16 values. */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  for (let i = 0; i < y.length / QK_K; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o + D_AT);
    const min = halfAt(q, o + D_AT + 2);
    let yo = i * QK_K;
    let is = 0;
    for (let n = 0; n < QK_K; n += 128) {
      const qs = o + QS_AT + n / 4;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const sc = q[o + is++] as number;
          const dl = fr(d * (sc & 0xf));
          const ml = fr(min * (sc >> 4));
          for (let l = 0; l < 16; l++) {
            y[yo++] = fr(fr(dl * (((q[qs + half + l] as number) >> shift) & 3)) - ml);
          }
        }
      }
    }
  }
}

export const Q2_K: BlockFormat = {
  name: "Q2_K",
  type: 10,
  blockSize: QK_K,
  typeSize: TYPE_SIZE,
  quantizeRow,
  quantizeRowWeighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [D_AT, D_AT + 2]),
};
