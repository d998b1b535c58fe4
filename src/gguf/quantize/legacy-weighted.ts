/**
 * The legacy 32-value formats with an imatrix (ggml-quants.c quantize_row_q4_0_impl, q4_1, q5_0,
 * q5_1): weights qw · sqrt(σ² + x²) with σ² the row's mean square, then make_qx_quants (the
 * symmetric formats) or make_qkx3_quants (the ones with a minimum) per block.
 */
import { fp32ToFp16 } from "../fp16.js";
import { putU32 } from "./block-bytes.js";
import { putHalf } from "./fp16-scales.js";
import { makeQkxQuants, makeQxQuants, searchResult } from "./k-search-kernels.js";

const fr = Math.fround;
const weight = new Float32Array(32);
const L = new Uint8Array(32);

/** Fills `weight` for the block at x[xb] and returns nothing; sigma2 is the row's. */
function blockWeights(x: Float32Array, xb: number, qw: Float32Array, sigma2: number): void {
  for (let j = 0; j < 32; j++) {
    const v = x[xb + j] as number;
    weight[j] = fr((qw[xb + j] as number) * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
  }
}

function rowSigma2(x: Float32Array): number {
  let sumX2 = 0;
  for (let j = 0; j < x.length; j++) {
    const v = x[j] as number;
    sumX2 = fr(sumX2 + fr(v * v));
  }
  return fr(sumX2 / x.length);
}

/** Packs 32 levels as nibbles at `qs` and, for 5-bit formats, the fifth bits as a u32 at `qh`. */
function pack(out: Uint8Array, qs: number, qh: number | undefined): void {
  let bits = 0;
  for (let j = 0; j < 16; j++) {
    const a = L[j] as number;
    const b = L[j + 16] as number;
    out[qs + j] = (a & 0x0f) | ((b & 0x0f) << 4);
    bits |= ((a & 0x10) >> 4) << j;
    bits |= ((b & 0x10) >> 4) << (j + 16);
  }
  if (qh !== undefined) putU32(out, qh, bits >>> 0);
}

function symmetric(nmax: number, typeSize: number, fifthBit: boolean) {
  return (x: Float32Array, out: Uint8Array, qw: Float32Array): void => {
    const sigma2 = rowSigma2(x);
    for (let ib = 0; ib < x.length / 32; ib++) {
      blockWeights(x, 32 * ib, qw, sigma2);
      const d = makeQxQuants(32, nmax, x, 32 * ib, L, 0, 1, weight, 0);
      const o = ib * typeSize;
      putHalf(out, o, fp32ToFp16(d));
      pack(out, fifthBit ? o + 6 : o + 2, fifthBit ? o + 2 : undefined);
    }
  };
}

function withMin(nmax: number, typeSize: number, fifthBit: boolean) {
  return (x: Float32Array, out: Uint8Array, qw: Float32Array): void => {
    const sigma2 = rowSigma2(x);
    for (let ib = 0; ib < x.length / 32; ib++) {
      blockWeights(x, 32 * ib, qw, sigma2);
      const d = makeQkxQuants(32, nmax, x, 32 * ib, weight, L, 0, fr(-0.9), fr(0.05), 36, false);
      const o = ib * typeSize;
      putHalf(out, o, fp32ToFp16(d));
      putHalf(out, o + 2, fp32ToFp16(-searchResult.min));
      pack(out, fifthBit ? o + 8 : o + 4, fifthBit ? o + 4 : undefined);
    }
  };
}

export const quantizeQ4_0Weighted = symmetric(8, 18, false);
export const quantizeQ4_1Weighted = withMin(15, 20, false);
export const quantizeQ5_0Weighted = symmetric(16, 22, true);
export const quantizeQ5_1Weighted = withMin(31, 24, true);
