import { fp32ToFp16 } from "../fp16.js";
import { getU32, putU32 } from "./block-bytes.js";
import { toInt8AtMost } from "./c-float.js";
import { findInvalidHalfBlock, halfAt, putHalf } from "./fp16-scales.js";
import { quantizeQ5_0Weighted } from "./legacy-weighted.js";
import type { BlockFormat } from "./types.js";

const QK = 32;
const TYPE_SIZE = 22; // fp16 d, qh[4] (fifth bits, little-endian u32), qs[16]

/** quantize_row_q5_0_ref: d = max / -16, q = MIN(31, (int8_t)(x / d + 16.5)); low nibbles in qs, fifth bits in qh. */
function quantizeRow(x: Float32Array, out: Uint8Array): void {
  const nb = x.length / QK;
  for (let i = 0; i < nb; i++) {
    const base = i * QK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[base + j] ?? 0;
      const a = Math.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d = Math.fround(max / -16);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = i * TYPE_SIZE;
    putHalf(out, o, fp32ToFp16(d));
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround((x[base + j] ?? 0) * id);
      const x1 = Math.fround((x[base + QK / 2 + j] ?? 0) * id);
      const xi0 = toInt8AtMost(Math.fround(x0 + 16.5), 31);
      const xi1 = toInt8AtMost(Math.fround(x1 + 16.5), 31);
      out[o + 6 + j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
      qh |= ((xi0 & 0x10) >>> 4) << j;
      qh |= ((xi1 & 0x10) >>> 4) << (j + QK / 2);
    }
    putU32(out, o + 2, qh);
  }
}

/** dequantize_row_q5_0: y = (q - 16) * d. */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  const nb = y.length / QK;
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o);
    const qh = getU32(q, o + 2);
    for (let j = 0; j < QK / 2; j++) {
      const b = q[o + 6 + j] ?? 0;
      const xh0 = ((qh >>> j) << 4) & 0x10;
      const xh1 = (qh >>> (j + 12)) & 0x10;
      y[i * QK + j] = Math.fround((((b & 0x0f) | xh0) - 16) * d);
      y[i * QK + QK / 2 + j] = Math.fround((((b >> 4) | xh1) - 16) * d);
    }
  }
}

export const Q5_0: BlockFormat = {
  name: "Q5_0",
  type: 6,
  blockSize: QK,
  typeSize: TYPE_SIZE,
  quantizeRow,
  quantizeRowWeighted: quantizeQ5_0Weighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [0]),
};
