/**
 * How each GGUF weight type lies on the GPU: the file's bytes, block by block. A block whose
 * size is a multiple of 4 is read as it is; the others (34, 18, 22, 110, 210 bytes) hold one
 * f16 at a fixed offset, which goes to a region of its own so the rest is read as u32 words.
 * Block layouts are ggml's (ggml-common.h).
 */

/** Weight types the shaders read (ggml type names). */
export const WEIGHT_TYPES = [
  "F32",
  "F16",
  "BF16",
  "Q8_0",
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
  "Q2_K",
  "Q3_K",
  "Q4_K",
  "Q5_K",
  "Q6_K",
  "IQ4_NL",
  "IQ4_XS",
] as const;
export type WeightType = (typeof WEIGHT_TYPES)[number];

export interface BlockLayout {
  /** Elements per block. */
  elements: number;
  /** Bytes per block in the file. */
  bytes: number;
  /** Byte offset of the f16 split out into the scales region (blocks not a multiple of 4 bytes). */
  halfAt?: number;
}

/** Float types have no blocks: their rows are read as vec4 (F32) or 4 halves (F16, BF16). */
export const BLOCKS: Partial<Record<WeightType, BlockLayout>> = {
  Q8_0: { elements: 32, bytes: 34, halfAt: 0 },
  Q4_0: { elements: 32, bytes: 18, halfAt: 0 },
  Q4_1: { elements: 32, bytes: 20 },
  Q5_0: { elements: 32, bytes: 22, halfAt: 0 },
  Q5_1: { elements: 32, bytes: 24 },
  Q2_K: { elements: 256, bytes: 84 },
  Q3_K: { elements: 256, bytes: 110, halfAt: 108 },
  Q4_K: { elements: 256, bytes: 144 },
  Q5_K: { elements: 256, bytes: 176 },
  Q6_K: { elements: 256, bytes: 210, halfAt: 208 },
  IQ4_NL: { elements: 32, bytes: 18, halfAt: 0 },
  IQ4_XS: { elements: 256, bytes: 136 },
};

export function isWeightType(name: string): name is WeightType {
  return (WEIGHT_TYPES as readonly string[]).includes(name);
}

/** Elements a row length must be a multiple of: the block size, or 4 for float types. */
export function rowMultiple(type: WeightType): number {
  return BLOCKS[type]?.elements ?? 4;
}

/** u32 words per block in the GPU's quant region (the block less any split-out f16). */
export function blockWords(type: WeightType): number {
  const b = BLOCKS[type];
  if (!b) throw new Error(`${type} has no blocks`);
  return (b.bytes - (b.halfAt === undefined ? 0 : 2)) / 4;
}

/** Word offset of the split-out f16 region of a weight with `blocks` blocks (0 when none). */
export function scaleOffsetWords(type: WeightType, blocks: number): number {
  const b = BLOCKS[type];
  return b?.halfAt === undefined ? 0 : blocks * blockWords(type);
}

/** The GPU layout of a tensor's bytes as stored in the file. */
export function repack(type: WeightType, raw: Uint8Array): Uint8Array {
  const b = BLOCKS[type];
  if (b?.halfAt === undefined) return raw;
  const { bytes, halfAt } = b;
  const quantBytes = bytes - 2;
  const blocks = raw.length / bytes;
  const out = new Uint8Array(blocks * quantBytes + Math.ceil(blocks / 2) * 4);
  const scales = blocks * quantBytes;
  for (let i = 0; i < blocks; i++) {
    const src = i * bytes;
    out[scales + 2 * i] = raw[src + halfAt] as number;
    out[scales + 2 * i + 1] = raw[src + halfAt + 1] as number;
    out.set(raw.subarray(src, src + halfAt), i * quantBytes);
    out.set(raw.subarray(src + halfAt + 2, src + bytes), i * quantBytes + halfAt);
  }
  return out;
}
