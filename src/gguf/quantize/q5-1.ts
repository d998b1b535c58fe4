import { fp32ToFp16 } from "../fp16.js";
import { getU32, putU32 } from "./block-bytes.js";
import { toUint8 } from "./c-float.js";
import { findInvalidHalfBlock, halfAt, putHalf } from "./fp16-scales.js";
import { quantizeQ5_1Weighted } from "./legacy-weighted.js";
import type { BlockFormat } from "./types.js";

const QK = 32;
const TYPE_SIZE = 24; // fp16 d, fp16 m, qh[4], qs[16]
const FLT_MAX = 3.4028234663852886e38;

/** quantize_row_q5_1_ref: d = (max - min) / 31, m = min, q = (uint8_t)((x - min) / d + 0.5), no clamp. */
function quantizeRow(x: Float32Array, out: Uint8Array): void {
  const nb = x.length / QK;
  for (let i = 0; i < nb; i++) {
    const base = i * QK;
    let min = FLT_MAX;
    let max = -FLT_MAX;
    for (let j = 0; j < QK; j++) {
      const v = x[base + j] ?? 0;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = Math.fround(Math.fround(max - min) / 31);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = i * TYPE_SIZE;
    putHalf(out, o, fp32ToFp16(d));
    putHalf(out, o + 2, fp32ToFp16(min));
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround(Math.fround((x[base + j] ?? 0) - min) * id);
      const x1 = Math.fround(Math.fround((x[base + QK / 2 + j] ?? 0) - min) * id);
      const xi0 = toUint8(Math.fround(x0 + 0.5));
      const xi1 = toUint8(Math.fround(x1 + 0.5));
      out[o + 8 + j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
      qh |= ((xi0 & 0x10) >>> 4) << j;
      qh |= ((xi1 & 0x10) >>> 4) << (j + QK / 2);
    }
    putU32(out, o + 4, qh);
  }
}

/** dequantize_row_q5_1: y = q * d + m. */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  const nb = y.length / QK;
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o);
    const m = halfAt(q, o + 2);
    const qh = getU32(q, o + 4);
    for (let j = 0; j < QK / 2; j++) {
      const b = q[o + 8 + j] ?? 0;
      const xh0 = ((qh >>> j) << 4) & 0x10;
      const xh1 = (qh >>> (j + 12)) & 0x10;
      y[i * QK + j] = Math.fround(Math.fround(((b & 0x0f) | xh0) * d) + m);
      y[i * QK + QK / 2 + j] = Math.fround(Math.fround(((b >> 4) | xh1) * d) + m);
    }
  }
}

export const Q5_1: BlockFormat = {
  name: "Q5_1",
  type: 7,
  blockSize: QK,
  typeSize: TYPE_SIZE,
  quantizeRow,
  quantizeRowWeighted: quantizeQ5_1Weighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [0, 2]),
};
