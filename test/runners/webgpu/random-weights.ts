/** Seeded random tensors in the GGUF byte layouts, for kernel tests. */
import { mulberry32 } from "../../../lib/random/mulberry32.js";
import { BLOCKS } from "../../../runners/webgpu/weight-layout.js";
import { BF16 } from "../../../src/gguf/quantize/float-formats.js";
import { type RefType, type RefWeight, toHalfBits } from "./reference.js";

/** Byte offsets of each block's f16 fields (scales, mins): the rest of a block is any bit pattern. */
const HALF_FIELDS: Partial<Record<RefType, number[]>> = {
  Q4_1: [0, 2],
  Q5_0: [0],
  Q5_1: [0, 2],
  Q2_K: [80, 82],
  Q3_K: [108],
  Q4_K: [0, 2],
  Q5_K: [0, 2],
  Q6_K: [208],
  IQ4_NL: [0],
  IQ4_XS: [0],
};

/** A small deterministic generator (mulberry32), uniform in [0, 1). */
export function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

export function randomVector(n: number, random: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

/** A k × m weight of `type` with random values as the file would store them. */
export function randomWeight(type: RefType, k: number, m: number, random: () => number): RefWeight {
  const n = k * m;
  if (type === "F32") {
    return { type, k, m, raw: new Uint8Array(randomVector(n, random, 0.5).buffer) };
  }
  if (type === "F16") {
    const halves = Uint16Array.from({ length: n }, () => toHalfBits((random() * 2 - 1) * 0.5));
    return { type, k, m, raw: new Uint8Array(halves.buffer) };
  }
  if (type === "BF16") {
    const raw = new Uint8Array(2 * n);
    BF16.quantizeRow(randomVector(n, random, 0.5), raw);
    return { type, k, m, raw };
  }
  const halves = HALF_FIELDS[type];
  const layout = BLOCKS[type];
  if (halves && layout) {
    // Random bits everywhere, then small positive f16 scales, so every level and sign occurs.
    const blocks = n / layout.elements;
    const raw = Uint8Array.from({ length: blocks * layout.bytes }, () =>
      Math.floor(random() * 256),
    );
    const view = new DataView(raw.buffer);
    const small = layout.elements === 256 ? 0.0005 : 0.002;
    for (let b = 0; b < blocks; b++) {
      for (const at of halves) {
        view.setUint16(b * layout.bytes + at, toHalfBits(small + random() * 10 * small), true);
      }
    }
    return { type, k, m, raw };
  }
  const blockBytes = type === "Q8_0" ? 34 : 18;
  const raw = new Uint8Array((n / 32) * blockBytes);
  const view = new DataView(raw.buffer);
  for (let b = 0; b < n / 32; b++) {
    view.setUint16(b * blockBytes, toHalfBits(0.002 + random() * 0.02), true);
    for (let j = 2; j < blockBytes; j++) {
      raw[b * blockBytes + j] =
        type === "Q8_0" ? (Math.floor(random() * 255) - 127) & 255 : Math.floor(random() * 256);
    }
  }
  return { type, k, m, raw };
}
