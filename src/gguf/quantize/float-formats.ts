import { bf16FromFloatBits, bf16ToFp32, FP16_TO_FP32, fp16FromFloat } from "../fp16.js";
import { isNonFiniteHalf } from "./fp16-scales.js";
import type { BlockFormat } from "./types.js";

function bitsOf(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

/** ggml_fp32_to_fp16_row (the F16 target) and ggml_fp16_to_fp32_row (an F16 source). */
export const F16: BlockFormat = {
  name: "F16",
  type: 1,
  blockSize: 1,
  typeSize: 2,
  quantizeRow(x, out) {
    const bits = bitsOf(x);
    for (let i = 0; i < bits.length; i++) {
      const h = fp16FromFloat(x[i] ?? 0, bits[i] ?? 0);
      out[2 * i] = h & 0xff;
      out[2 * i + 1] = h >>> 8;
    }
  },
  dequantizeRow(q, y) {
    for (let i = 0; i < y.length; i++) {
      y[i] = FP16_TO_FP32[(q[2 * i] ?? 0) | ((q[2 * i + 1] ?? 0) << 8)] ?? 0;
    }
  },
  findInvalidBlock(q) {
    for (let i = 0; i < q.length / 2; i++) {
      if (isNonFiniteHalf((q[2 * i] ?? 0) | ((q[2 * i + 1] ?? 0) << 8))) return i;
    }
    return -1;
  },
};

/** ggml_fp32_to_bf16_row_ref (the BF16 target) and ggml_bf16_to_fp32_row (a BF16 source). */
export const BF16: BlockFormat = {
  name: "BF16",
  type: 30,
  blockSize: 1,
  typeSize: 2,
  quantizeRow(x, out) {
    const bits = bitsOf(x);
    for (let i = 0; i < bits.length; i++) {
      const h = bf16FromFloatBits(bits[i] ?? 0);
      out[2 * i] = h & 0xff;
      out[2 * i + 1] = h >>> 8;
    }
  },
  dequantizeRow(q, y) {
    for (let i = 0; i < y.length; i++)
      y[i] = bf16ToFp32((q[2 * i] ?? 0) | ((q[2 * i + 1] ?? 0) << 8));
  },
  findInvalidBlock(q) {
    for (let i = 0; i < q.length / 2; i++) {
      // (bits & 0x7fff) >= 0x7f80: infinity or NaN, as ggml_validate_row_data counts them.
      if ((((q[2 * i] ?? 0) | ((q[2 * i + 1] ?? 0) << 8)) & 0x7fff) >= 0x7f80) return i;
    }
    return -1;
  },
};

/** F32 as a source (copied as it is) and for validation. */
export const F32: BlockFormat = {
  name: "F32",
  type: 0,
  blockSize: 1,
  typeSize: 4,
  quantizeRow(x, out) {
    out.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  },
  dequantizeRow(q, y) {
    new Uint8Array(y.buffer, y.byteOffset, y.byteLength).set(q.subarray(0, y.byteLength));
  },
  findInvalidBlock(q) {
    const bits = new Uint32Array(q.buffer, q.byteOffset, q.length / 4);
    for (let i = 0; i < bits.length; i++) {
      if (((bits[i] ?? 0) & 0x7f800000) === 0x7f800000) return i;
    }
    return -1;
  },
};
