import { fp32ToFp16 } from "../fp16.js";
import { roundf } from "./c-float.js";
import { findInvalidHalfBlock, halfAt, putHalf } from "./fp16-scales.js";
import type { BlockFormat } from "./types.js";

const QK = 32;
const TYPE_SIZE = 34; // fp16 d, int8 qs[32]

/** quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d) stored as int8. */
function quantizeRow(x: Float32Array, out: Uint8Array): void {
  const nb = x.length / QK;
  for (let i = 0; i < nb; i++) {
    const base = i * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      const a = Math.abs(x[base + j] ?? 0);
      // MAX(amax, a) as C evaluates it: a NaN `a` replaces amax.
      amax = amax > a ? amax : a;
    }
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = i * TYPE_SIZE;
    putHalf(out, o, fp32ToFp16(d));
    for (let j = 0; j < QK; j++) {
      out[o + 2 + j] = roundf(Math.fround((x[base + j] ?? 0) * id)) & 0xff;
    }
  }
}

/** dequantize_row_q8_0: y = q * d. */
function dequantizeRow(q: Uint8Array, y: Float32Array): void {
  const nb = y.length / QK;
  for (let i = 0; i < nb; i++) {
    const o = i * TYPE_SIZE;
    const d = halfAt(q, o);
    for (let j = 0; j < QK; j++) {
      y[i * QK + j] = Math.fround((((q[o + 2 + j] ?? 0) << 24) >> 24) * d);
    }
  }
}

export const Q8_0: BlockFormat = {
  name: "Q8_0",
  type: 8,
  blockSize: QK,
  typeSize: TYPE_SIZE,
  quantizeRow,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [0]),
};
