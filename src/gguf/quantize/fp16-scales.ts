import { fp16ToFp32 } from "../fp16.js";

/** Writes an fp16 bit pattern little-endian at `at`. */
export function putHalf(out: Uint8Array, at: number, h: number): void {
  out[at] = h & 0xff;
  out[at + 1] = h >>> 8;
}

export function getHalf(q: Uint8Array, at: number): number {
  return (q[at] ?? 0) | ((q[at + 1] ?? 0) << 8);
}

export function halfAt(q: Uint8Array, at: number): number {
  return fp16ToFp32(getHalf(q, at));
}

/** fp16 infinity or NaN: ggml_validate_row_data's isinf_fp16 / isnan_fp16. */
export function isNonFiniteHalf(h: number): boolean {
  return (h & 0x7c00) === 0x7c00;
}

/** First block whose fp16 fields at the given byte offsets are not finite, or -1. */
export function findInvalidHalfBlock(
  q: Uint8Array,
  typeSize: number,
  offsets: readonly number[],
): number {
  const blocks = q.length / typeSize;
  for (let i = 0; i < blocks; i++) {
    for (const offset of offsets) {
      if (isNonFiniteHalf(getHalf(q, i * typeSize + offset))) return i;
    }
  }
  return -1;
}
