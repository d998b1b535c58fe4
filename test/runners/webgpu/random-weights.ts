/** Seeded random tensors in the GGUF byte layouts, for kernel tests. */
import { mulberry32 } from "../../../lib/random/mulberry32.js";
import { type RefType, type RefWeight, toHalfBits } from "./reference.js";

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
