import { fp16ToFp32 } from "../fp16.js";
import { getHalf } from "./fp16-scales.js";
import { nearestInt, scaleMinK4 } from "./k-search.js";
import { blockLevels, loadBlock } from "./k-search-kernels.js";

const fr = Math.fround;

/** Packs eight 6-bit scales and mins into a Q4_K / Q5_K scales[12] at `at` (the encoders' j < 4 / j >= 4 split). */
export function packScalesMinsK4(
  out: Uint8Array,
  at: number,
  ls: Uint8Array,
  lm: Uint8Array,
): void {
  for (let j = 0; j < 8; j++) {
    const s = ls[j] as number;
    const m = lm[j] as number;
    if (j < 4) {
      out[at + j] = s;
      out[at + j + 4] = m;
    } else {
      out[at + j + 4] = (s & 0xf) | ((m & 0xf) << 4);
      out[at + j - 4] = (out[at + j - 4] as number) | ((s >> 4) << 6);
      out[at + j] = (out[at + j] as number) | ((m >> 4) << 6);
    }
  }
}

/** The 6-bit levels of eight scales (or mins) against their maximum: MIN(63, (uint8_t)nearest_int(63/max · v)). */
export function levels63(values: Float32Array, max: number, into: Uint8Array): void {
  const inv = max > 0 ? fr(63 / max) : 0;
  for (let j = 0; j < 8; j++) {
    into[j] = Math.min(63, nearestInt(fr(inv * (values[j] as number))) & 0xff);
  }
}

/**
 * The final pass of the Q4_K / Q5_K encoders: with the stored fp16 d / dmin (at o, o + 2) and
 * 6-bit scales (at o + 4), each value's level in [0, nmax]; sub-blocks whose scale is 0 keep the
 * levels of the search.
 */
export function requantizeK4(
  x: Float32Array,
  xo: number,
  out: Uint8Array,
  o: number,
  nmax: number,
  L: Uint8Array,
): void {
  const d0 = fp16ToFp32(getHalf(out, o));
  const m0 = fp16ToFp32(getHalf(out, o + 2));
  loadBlock(x, xo);
  for (let j = 0; j < 8; j++) {
    const { sc, m } = scaleMinK4(j, out, o + 4);
    const d = fr(d0 * sc);
    // clamp(nearest_int((x + dm) / d), 0, nmax)
    if (d) blockLevels(32 * j, 32, fr(m0 * m), d, 0, nmax, L);
  }
}
