/**
 * The C float → integer steps ggml's reference quantizers take, as x86-64 executes them
 * (libggml-base is built for baseline x86-64: SSE2, no FMA). roundf rounds halves away from zero.
 * A float converted to int8_t / uint8_t goes through cvttss2si / cvttps2dq (truncation; NaN and
 * values outside int32 give 0x80000000) and keeps the low byte. JavaScript's ToInt32 (`x | 0`,
 * `x << n`, `x & m`) truncates too and gives the same low byte for every float32 input: NaN and
 * ±Infinity give 0 (low byte of 0x80000000 is 0), and a float32 of magnitude ≥ 2^31 is a multiple
 * of 256, so its value modulo 2^32 has a zero low byte as well.
 */

/**
 * C roundf of a float32, as an integer-valued number (callers keep its low byte). floor(x + 0.5)
 * is roundf except at negative halves (-2.5 → -3, not -2), fixed by one rarely-taken branch: a
 * data-dependent sign branch would be mispredicted on half of all weights. x + 0.5 is exact in
 * float64 for every float32 below 2^53 and rounds back to x above it.
 */
export function roundf(x: number): number {
  const y = x + 0.5;
  const r = Math.floor(y);
  return r === y && x < 0 ? r - 1 : r;
}

/** (int8_t)x for a float32 x: truncate, keep the low byte, read it signed. */
export function toInt8(x: number): number {
  return (x << 24) >> 24;
}

/** (uint8_t)x for a float32 x: truncate, keep the low byte. */
export function toUint8(x: number): number {
  return x & 0xff;
}

/** MIN(max, (int8_t)x) as an unsigned byte: the q4/q5 quantizers' clamp of a rounded value. */
export function toInt8AtMost(x: number, max: number): number {
  const q = toInt8(x);
  return (q < max ? q : max) & 0xff;
}
