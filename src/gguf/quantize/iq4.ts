import { fp32ToFp16 } from "../fp16.js";
import { findInvalidHalfBlock, halfAt, putHalf } from "./fp16-scales.js";
import { GROUP_MAX_EPS, nearestInt } from "./k-search.js";
import type { BlockFormat } from "./types.js";

const fr = Math.fround;
/** kvalues_iq4nl: the 16 non-linear levels. */
const VALUES = Int8Array.of(
  -127,
  -104,
  -83,
  -65,
  -49,
  -35,
  -22,
  -10,
  1,
  13,
  25,
  38,
  53,
  69,
  89,
  113,
);
/** quantize_iq4_nl / quantize_iq4_xs (what llama-quantize calls) search 2·7 + 1 scales. */
const NTRY = 7;

const L = new Uint8Array(256);
const weight = new Float32Array(32);
const scales = new Float32Array(8);

/**
 * For each integer f in [-127, 112], the k with VALUES[k] <= f < VALUES[k + 1]: the levels are
 * integers, so this is where best_index_int8's bisection ends for any x with floor(x) = f.
 */
const BELOW = Int8Array.from({ length: 240 }, (_, i) => {
  let k = 0;
  while ((VALUES[k + 1] as number) <= i - 127) k++;
  return k;
});

/** best_index_int8: the nearest level, ties (in float32) to the upper one. */
function bestIndex(x: number): number {
  if (x <= -127) return 0;
  if (x >= 113) return 15;
  const ml = BELOW[Math.floor(x) + 127];
  // NaN (an infinite inverse scale times 0) fails every comparison: the bisection ends at 15.
  if (ml === undefined) return 15;
  return fr(x - (VALUES[ml] as number)) < fr((VALUES[ml + 1] as number) - x) ? ml : ml + 1;
}

/**
 * quantize_row_iq4_nl_impl with ntry = 7 for one super-block of `size` values at x[xb] (32 for
 * IQ4_NL, 256 for IQ4_XS): writes d at `o`, the 6-bit block scales (IQ4_XS) at o + 2, the
 * levels at `qsAt`.
 */
function encode(
  size: number,
  x: Float32Array,
  xb: number,
  out: Uint8Array,
  o: number,
  qsAt: number,
  qw: Float32Array | null,
): void {
  let sigma2 = 0;
  for (let j = 0; j < size; j++) {
    const v = x[xb + j] as number;
    sigma2 = fr(sigma2 + fr(v * v));
  }
  sigma2 = fr(sigma2 * fr(2 / size));
  out.fill(0, qsAt, qsAt + size / 2);
  let maxScale = 0;
  let amaxScale = 0;
  const nb = size / 32;
  for (let ib = 0; ib < nb; ib++) {
    const b = xb + 32 * ib;
    for (let j = 0; j < 32; j++) {
      const v = x[b + j] as number;
      weight[j] =
        qw !== null ? fr((qw[b + j] as number) * fr(Math.sqrt(fr(sigma2 + fr(v * v))))) : v * v;
    }
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b + j] as number;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    if (amax < GROUP_MAX_EPS) {
      scales[ib] = 0;
      continue;
    }
    let d = fr(-max / -127);
    let id = fr(1 / d);
    let sumqx = 0;
    let sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b + j] as number;
      const l = bestIndex(fr(id * v));
      L[32 * ib + j] = l;
      const q = VALUES[l] as number;
      const wq = fr((weight[j] as number) * q);
      sumqx = fr(sumqx + fr(wq * v));
      sumq2 = fr(sumq2 + fr(wq * q));
    }
    d = sumq2 > 0 ? fr(sumqx / sumq2) : 0;
    let best = fr(d * sumqx);
    for (let itry = -NTRY; itry <= NTRY; itry++) {
      id = fr((itry - 127) / max);
      sumqx = 0;
      sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const v = x[b + j] as number;
        const q = VALUES[bestIndex(fr(id * v))] as number;
        const wq = fr((weight[j] as number) * q);
        sumqx = fr(sumqx + fr(wq * v));
        sumq2 = fr(sumq2 + fr(wq * q));
      }
      if (sumq2 > 0 && fr(sumqx * sumqx) > fr(best * sumq2)) {
        d = fr(sumqx / sumq2);
        best = fr(d * sumqx);
      }
    }
    scales[ib] = d;
    if (Math.abs(d) > amaxScale) {
      amaxScale = Math.abs(d);
      maxScale = d;
    }
  }
  if (nb > 1) {
    out.fill(0, o + 2, o + 8);
    const d = fr(-maxScale / 32);
    putHalf(out, o, fp32ToFp16(d));
    const id = d ? fr(1 / d) : 0;
    let scalesH = 0;
    for (let ib = 0; ib < nb; ib++) {
      let l = nearestInt(fr(id * (scales[ib] as number)));
      l = Math.max(-32, Math.min(31, l));
      const dl = fr(d * l);
      const idl = dl ? fr(1 / dl) : 0;
      for (let j = 0; j < 32; j++)
        L[32 * ib + j] = bestIndex(fr(idl * (x[xb + 32 * ib + j] as number)));
      l += 32;
      const at = o + 4 + (ib >> 1);
      out[at] = ib % 2 === 0 ? l & 0xf : (out[at] as number) | ((l & 0xf) << 4);
      scalesH |= (l >> 4) << (2 * (ib % 8));
    }
    out[o + 2] = scalesH & 0xff;
    out[o + 3] = (scalesH >> 8) & 0xff;
  } else {
    const s = scales[0] as number;
    putHalf(out, o, fp32ToFp16(s));
    const id = s ? fr(1 / s) : 0;
    for (let j = 0; j < size; j++) L[j] = bestIndex(fr(id * (x[xb + j] as number)));
  }
  for (let i = 0; i < size / 32; i++) {
    for (let j = 0; j < 16; j++) {
      out[qsAt + 16 * i + j] = (L[32 * i + j] as number) | ((L[32 * i + 16 + j] as number) << 4);
    }
  }
}

function iq4Format(name: string, type: number, size: number, typeSize: number): BlockFormat {
  const qsAt = size === 32 ? 2 : 8;
  const run = (x: Float32Array, out: Uint8Array, qw: Float32Array | null) => {
    for (let i = 0; i < x.length / size; i++)
      encode(size, x, i * size, out, i * typeSize, i * typeSize + qsAt, qw);
  };
  return {
    name,
    type,
    blockSize: size,
    typeSize,
    quantizeRow: (x, out) => run(x, out, null),
    quantizeRowWeighted: (x, out, qw) => run(x, out, qw),
    dequantizeRow(q, y) {
      for (let i = 0; i < y.length / size; i++) {
        const o = i * typeSize;
        const d = halfAt(q, o);
        const scalesH = (q[o + 2] as number) | ((q[o + 3] as number) << 8);
        for (let ib = 0; ib < size / 32; ib++) {
          const ls =
            (((q[o + 4 + (ib >> 1)] as number) >> (4 * (ib % 2))) & 0xf) |
            (((scalesH >> (2 * ib)) & 3) << 4);
          const dl = size === 32 ? d : fr(d * (ls - 32));
          const qs = o + qsAt + 16 * ib;
          const yo = i * size + 32 * ib;
          for (let j = 0; j < 16; j++) {
            y[yo + j] = fr(dl * (VALUES[(q[qs + j] as number) & 0xf] as number));
            y[yo + j + 16] = fr(dl * (VALUES[(q[qs + j] as number) >> 4] as number));
          }
        }
      }
    },
    findInvalidBlock: (q) => findInvalidHalfBlock(q, typeSize, [0]),
  };
}

/** IQ4_NL: 32 values, one fp16 scale, 4-bit indices into kvalues_iq4nl. */
export const IQ4_NL: BlockFormat = iq4Format("IQ4_NL", 20, 32, 18);
/** IQ4_XS: 256 values, one fp16 d, 6-bit scales per 32, 4-bit indices into kvalues_iq4nl. */
export const IQ4_XS: BlockFormat = iq4Format("IQ4_XS", 23, 256, 136);
