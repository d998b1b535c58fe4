/**
 * A plain TypeScript Llama that the WGSL kernels are checked against: dequantization from the
 * GGUF block layouts (as llama.cpp's dequantize_row_*), matmul with f32 activations, RMSNorm,
 * RoPE (normal mode), causal attention over an f16 KV cache, log-softmax. Types other than
 * F32/F16/Q8_0/Q4_0 are dequantized by qbench's quantizer (src/gguf/quantize/, byte-exact with
 * llama.cpp's dequantize_row_*).
 */

import type { WeightType } from "../../../runners/webgpu/weight-layout.js";
import { tensorFormat } from "../../../src/gguf/quantize/formats.js";

/** f32 → nearest f16 bit pattern (round half to even), as F16C and WGSL's pack2x16float do. */
export function toHalfBits(value: number): number {
  const f = new Float32Array([value]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const m = (mant | 0x800000) >>> (1 - exp + 13);
    const rest = (mant | 0x800000) & ((1 << (1 - exp + 13)) - 1);
    const half = 1 << (1 - exp + 12);
    return sign | (m + (rest > half || (rest === half && m & 1) ? 1 : 0));
  }
  let h = (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function fromHalfBits(h: number): number {
  const e = (h >>> 10) & 31;
  const m = h & 1023;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * (m / 1024) * 2 ** -14;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export const roundHalf = (x: number) => fromHalfBits(toHalfBits(x));

export type RefType = WeightType;

/** A weight as the GGUF file stores it: rows of k elements, m rows. */
export interface RefWeight {
  type: RefType;
  k: number;
  m: number;
  raw: Uint8Array;
}

/** The integer quants and block scales of row `row` of a quantized weight. */
export function blockQuants(w: RefWeight, row: number): { q: Int8Array; d: Float32Array } {
  const view = new DataView(w.raw.buffer, w.raw.byteOffset, w.raw.byteLength);
  const blockBytes = w.type === "Q8_0" ? 34 : 18;
  const q = new Int8Array(w.k);
  const d = new Float32Array(w.k / 32);
  for (let b = 0; b < d.length; b++) {
    const at = (row * d.length + b) * blockBytes;
    d[b] = fromHalfBits(view.getUint16(at, true));
    for (let j = 0; j < 32; j++) {
      if (w.type === "Q8_0") q[b * 32 + j] = view.getInt8(at + 2 + j);
      else {
        const byte = view.getUint8(at + 2 + (j % 16));
        q[b * 32 + j] = (j < 16 ? byte & 15 : byte >> 4) - 8;
      }
    }
  }
  return { q, d };
}

/** Row `row` of a weight, dequantized as llama.cpp's dequantize_row_* do. */
export function dequantizeRow(w: RefWeight, row: number): Float32Array {
  const out = new Float32Array(w.k);
  const view = new DataView(w.raw.buffer, w.raw.byteOffset, w.raw.byteLength);
  if (w.type === "F32") {
    for (let i = 0; i < w.k; i++) out[i] = view.getFloat32((row * w.k + i) * 4, true);
  } else if (w.type === "F16") {
    for (let i = 0; i < w.k; i++) out[i] = fromHalfBits(view.getUint16((row * w.k + i) * 2, true));
  } else if (w.type !== "Q8_0" && w.type !== "Q4_0") {
    const format = tensorFormat(w.type);
    if (!format) throw new Error(`no reference dequantizer for ${w.type}`);
    const rowBytes = (w.k / format.blockSize) * format.typeSize;
    format.dequantizeRow(w.raw.subarray(row * rowBytes, (row + 1) * rowBytes), out);
  } else {
    const { q, d } = blockQuants(w, row);
    for (let i = 0; i < w.k; i++) out[i] = (d[i >> 5] as number) * (q[i] as number);
  }
  return out;
}

/** Y[t][r] = W[r]·X[t] for T rows of X (k wide), in double precision. */
export function matmulRef(w: RefWeight, x: Float32Array, T: number): Float32Array {
  const y = new Float32Array(T * w.m);
  for (let r = 0; r < w.m; r++) {
    const wr = dequantizeRow(w, r);
    for (let t = 0; t < T; t++) {
      let acc = 0;
      for (let i = 0; i < w.k; i++) acc += (wr[i] as number) * (x[t * w.k + i] as number);
      y[t * w.m + r] = acc;
    }
  }
  return y;
}

export function rmsNormRef(x: Float32Array, g: Float32Array, eps: number, T: number): Float32Array {
  const k = g.length;
  const y = new Float32Array(T * k);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let i = 0; i < k; i++) sum += (x[t * k + i] as number) ** 2;
    const scale = 1 / Math.sqrt(sum / k + eps);
    for (let i = 0; i < k; i++) y[t * k + i] = (x[t * k + i] as number) * scale * (g[i] as number);
  }
  return y;
}

/** RoPE normal mode in place on one head vector: pairs (2i, 2i+1), i < nRot/2. */
export function ropeRef(v: Float32Array, pos: number, nRot: number, base: number): void {
  for (let i = 0; i < nRot / 2; i++) {
    const theta = pos * base ** ((-2 * i) / nRot);
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    const a = v[2 * i] as number;
    const b = v[2 * i + 1] as number;
    v[2 * i] = a * c - b * s;
    v[2 * i + 1] = a * s + b * c;
  }
}

export function logSoftmaxRef(logits: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
  const logZ = max + Math.log(sum);
  return Float64Array.from(logits, (l) => l - logZ);
}

/**
 * Causal attention of one query head at position pos over keys/values 0…pos of its KV head,
 * with keys and values rounded to f16 as the cache stores them.
 */
export function attentionRef(
  q: Float32Array,
  keys: Float32Array[],
  values: Float32Array[],
  pos: number,
  /** Gemma 2's: the score factor, c of c·tanh(s / c), keys with pos − j < window only. */
  options: { scale?: number; softcap?: number; window?: number } = {},
): Float32Array {
  const hd = q.length;
  const scale = options.scale ?? 1 / Math.sqrt(hd);
  const first = options.window ? Math.max(0, pos + 1 - options.window) : 0;
  const scores = Array.from({ length: pos + 1 }, (_, j) => {
    if (j < first) return -Infinity;
    let s = 0;
    const k = keys[j] as Float32Array;
    for (let i = 0; i < hd; i++) s += (q[i] as number) * roundHalf(k[i] as number);
    const c = options.softcap;
    return c ? c * Math.tanh((s * scale) / c) : s * scale;
  });
  const p = logSoftmaxRef(scores).map(Math.exp);
  const out = new Float32Array(hd);
  for (let j = first; j <= pos; j++) {
    const v = values[j] as Float32Array;
    for (let i = 0; i < hd; i++) {
      out[i] = (out[i] as number) + (p[j] as number) * roundHalf(v[i] as number);
    }
  }
  return out;
}
