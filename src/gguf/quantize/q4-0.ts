import { fp32ToFp16 } from "../fp16.js";
import { toInt8AtMost } from "./c-float.js";
import { findInvalidHalfBlock, halfAt, putHalf } from "./fp16-scales.js";
import { quantizeQ4_0Weighted } from "./legacy-weighted.js";
import type { BlockFormat } from "./types.js";

const QK = 32;
const TYPE_SIZE = 18; // fp16 d, qs[16] (two 4-bit values a byte)

/** quantize_row_q4_0_ref: d = max / -8 (max = the signed value of largest magnitude, first wins), q = MIN(15, (int8_t)(x / d + 8.5)). */
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
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = i * TYPE_SIZE;
    putHalf(out, o, fp32ToFp16(d));
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround((x[base + j] ?? 0) * id);
      const x1 = Math.fround((x[base + QK / 2 + j] ?? 0) * id);
      const xi0 = toInt8AtMost(Math.fround(x0 + 8.5), 15);
      const xi1 = toInt8AtMost(Math.fround(x1 + 8.5), 15);
      out[o + 2 + j] = (xi0 | (xi1 << 4)) & 0xff;
    }
  }
}

/** dequantize_row_q4_0: y = (q - 8) * d. */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  const nb = y.length / QK;
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o);
    for (let j = 0; j < QK / 2; j++) {
      const b = q[o + 2 + j] ?? 0;
      y[i * QK + j] = Math.fround(((b & 0x0f) - 8) * d);
      y[i * QK + QK / 2 + j] = Math.fround(((b >> 4) - 8) * d);
    }
  }
}

export const Q4_0: BlockFormat = {
  name: "Q4_0",
  type: 2,
  blockSize: QK,
  typeSize: TYPE_SIZE,
  quantizeRow,
  quantizeRowWeighted: quantizeQ4_0Weighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [0]),
};
