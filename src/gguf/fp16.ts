/**
 * float32 ↔ float16 / bfloat16 conversions, bit for bit as ggml's software path computes them
 * (ggml/src/ggml-impl.h: ggml_compute_fp32_to_fp16, ggml_compute_fp16_to_fp32,
 * ggml_compute_fp32_to_bf16). llama-quantize reaches these through libggml-base, which is built
 * without -march flags, so the F16C hardware path is never used; both round to nearest even, and
 * the port keeps ggml's float32 operations (each through Math.fround) so NaN and overflow cases
 * match too.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bitsToFloat(bits: number): number {
  u32[0] = bits;
  return f32[0] ?? 0;
}

function floatToBits(value: number): number {
  f32[0] = value;
  return u32[0] ?? 0;
}

const SCALE_TO_INF = 2 ** 112;
const SCALE_TO_ZERO = 2 ** -110;

/**
 * The float32 ggml builds from the bias, fp32_from_bits((bias >> 1) + 0x07800000), for each
 * exponent byte of the input (bias = max(exponent, 0x71) << 24): a lookup instead of a bit cast.
 * For exponent 0xff the sum wraps into the sign bit, as the C unsigned addition does.
 */
const BIAS_VALUE: Float32Array = (() => {
  const table = new Float32Array(256);
  for (let e = 0; e < 256; e++) {
    const bias = Math.max(e, 0x71) * 2 ** 24;
    table[e] = bitsToFloat(((bias >>> 1) + 0x07800000) >>> 0);
  }
  return table;
})();

/** ggml_compute_fp32_to_fp16 of the float32 `value` whose bit pattern is `w` (both given, to skip a bit cast). */
export function fp16FromFloat(value: number, w: number): number {
  const base = Math.fround(Math.fround(Math.abs(value) * SCALE_TO_INF) * SCALE_TO_ZERO);
  const shl1 = (w << 1) >>> 0;
  const sum = Math.fround((BIAS_VALUE[shl1 >>> 24] ?? 0) + base);
  const bits = floatToBits(sum);
  const nonsign = ((bits >>> 13) & 0x7c00) + (bits & 0xfff);
  return ((w >>> 16) & 0x8000) | (shl1 > 0xff000000 ? 0x7e00 : nonsign & 0xffff);
}

/** ggml_compute_fp32_to_fp16 on the float32 whose bit pattern is `w`. */
export function fp16FromFloatBits(w: number): number {
  return fp16FromFloat(bitsToFloat(w), w);
}

/** ggml_compute_fp32_to_fp16 (GGML_FP32_TO_FP16) of a float32 value. */
export function fp32ToFp16(value: number): number {
  return fp16FromFloatBits(floatToBits(value));
}

function computeFp16ToFp32(h: number): number {
  const w = (h << 16) >>> 0;
  const sign = (w & 0x80000000) >>> 0;
  const twoW = (w << 1) >>> 0;
  const normalized = Math.fround(bitsToFloat((twoW >>> 4) + (0xe0 << 23)) * 2 ** -112);
  const denormalized = Math.fround(bitsToFloat((twoW >>> 17) | (126 << 23)) - 0.5);
  const magnitude = twoW < 1 << 27 ? floatToBits(denormalized) : floatToBits(normalized);
  return bitsToFloat((sign | magnitude) >>> 0);
}

/** Every fp16 bit pattern's float32 value (ggml_compute_fp16_to_fp32), built once: an exact conversion. */
export const FP16_TO_FP32: Float32Array = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = computeFp16ToFp32(h);
  return table;
})();

export function fp16ToFp32(h: number): number {
  return FP16_TO_FP32[h & 0xffff] ?? 0;
}

/** ggml_compute_fp32_to_bf16 on the float32 whose bit pattern is `u`: round to nearest even, NaNs made quiet. */
export function bf16FromFloatBits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}

export function bf16ToFp32(h: number): number {
  return bitsToFloat((h << 16) >>> 0);
}
