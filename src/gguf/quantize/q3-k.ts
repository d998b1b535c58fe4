import { findInvalidHalfBlock, halfAt } from "./fp16-scales.js";
import { quantizeRowQ3K, quantizeRowWeightedQ3K } from "./k-search-kernels.js";
import type { BlockFormat } from "./types.js";

const fr = Math.fround;
const QK_K = 256;
const TYPE_SIZE = 110; // hmask[32], qs[64], scales[12] (6-bit), fp16 d
const QS_AT = 32;
const SCALES_AT = 96;
const D_AT = 108;

/** The signed scale of sub-block j (int8 arithmetic). The encoders are WebAssembly: asm/k-search.ts. */
function scaleAt(q: Uint8Array, at: number, j: number): number {
  const lo = j < 8 ? (q[at + j] as number) & 0xf : (q[at + j - 8] as number) >> 4;
  return (lo | ((((q[at + 8 + (j % 4)] as number) >> (2 * (j >> 2))) & 3) << 4)) - 32;
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
  // quantize_row_q3_K_impl (an imatrix given): make_qx_quants under weights, then on the scales.
  quantizeRowWeighted: quantizeRowWeightedQ3K,
  dequantizeRow,
  findInvalidBlock: (q) => findInvalidHalfBlock(q, TYPE_SIZE, [D_AT]),
};
