import { fp32ToFp16 } from "../fp16.js";
import { toInt8AtMost } from "./c-float.js";
import { findInvalidHalfBlock, halfAt, putHalf } from "./fp16-scales.js";
import { quantizeQ4_1Weighted } from "./legacy-weighted.js";
import type { BlockFormat } from "./types.js";

const QK = 32;
const TYPE_SIZE = 20; // fp16 d, fp16 m, qs[16]
const FLT_MAX = 3.4028234663852886e38;

/** quantize_row_q4_1_ref: d = (max - min) / 15, m = min, q = MIN(15, (int8_t)((x - min) / d + 0.5)). */
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
    const d = Math.fround(Math.fround(max - min) / 15);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = i * TYPE_SIZE;
    putHalf(out, o, fp32ToFp16(d));
    putHalf(out, o + 2, fp32ToFp16(min));
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround(Math.fround((x[base + j] ?? 0) - min) * id);
      const x1 = Math.fround(Math.fround((x[base + QK / 2 + j] ?? 0) - min) * id);
      const xi0 = toInt8AtMost(Math.fround(x0 + 0.5), 15);
      const xi1 = toInt8AtMost(Math.fround(x1 + 0.5), 15);
      out[o + 4 + j] = (xi0 | (xi1 << 4)) & 0xff;
    }
  }
}

/** dequantize_row_q4_1: y = q * d + m. */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  const nb = y.length / QK;
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o);
    const m = halfAt(q, o + 2);
    for (let j = 0; j < QK / 2; j++) {
      const b = q[o + 4 + j] ?? 0;
      y[i * QK + j] = Math.fround(Math.fround((b & 0x0f) * d) + m);
      y[i * QK + QK / 2 + j] = Math.fround(Math.fround((b >> 4) * d) + m);
    }
  }
}

export const Q4_1: BlockFormat = {
  name: "Q4_1",
  type: 3,
  blockSize: QK,
  typeSize: TYPE_SIZE,
  quantizeRow,
  quantizeRowWeighted: quantizeQ4_1Weighted,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [0, 2]),
};
