/**
 * Weight tensors on the GPU in their GGUF type. Q8_0 and Q4_0 blocks (34 and 18 bytes, so not
 * 4-byte aligned) are split into a quant region and a region of their f16 scales, which is the
 * same bytes the file holds, laid out so WGSL can read them as u32 words.
 */
import type { FileHandle } from "node:fs/promises";
import type { GgufTensorInfo } from "../../lib/gguf/reader.js";
import type { BufferPool } from "./buffers.js";
import type { WeightType } from "./model-config.js";

const BLOCK = 32;
/** Quant bytes per 32-element block. */
const QUANT_BYTES: Partial<Record<WeightType, number>> = { Q8_0: 32, Q4_0: 16 };

export interface GpuWeight {
  buffer: GPUBuffer;
  type: WeightType;
  /** Row length (ggml ne0). */
  k: number;
  /** Rows (ggml ne1). */
  m: number;
}

/** Word offset of the scales region of a quantized weight with `blocks` blocks. */
export function scaleOffsetWords(type: WeightType, blocks: number): number {
  const quantBytes = QUANT_BYTES[type];
  return quantBytes === undefined ? 0 : (blocks * quantBytes) / 4;
}

/** The GPU layout of a tensor's bytes as stored in the file. */
export function repack(type: WeightType, raw: Uint8Array): Uint8Array {
  const quantBytes = QUANT_BYTES[type];
  if (quantBytes === undefined) return raw;
  const blockBytes = quantBytes + 2;
  const blocks = raw.length / blockBytes;
  const out = new Uint8Array(blocks * quantBytes + Math.ceil(blocks / 2) * 4);
  const scales = blocks * quantBytes;
  for (let b = 0; b < blocks; b++) {
    const src = b * blockBytes;
    out[scales + 2 * b] = raw[src] as number;
    out[scales + 2 * b + 1] = raw[src + 1] as number;
    out.set(raw.subarray(src + 2, src + blockBytes), b * quantBytes);
  }
  return out;
}

export async function readTensor(
  fh: FileHandle,
  dataOffset: number,
  tensor: GgufTensorInfo,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(tensor.byteSize);
  let got = 0;
  while (got < bytes.length) {
    const { bytesRead } = await fh.read(
      bytes,
      got,
      bytes.length - got,
      dataOffset + tensor.offset + got,
    );
    if (bytesRead === 0) throw new Error(`file ends inside tensor ${tensor.name}`);
    got += bytesRead;
  }
  return bytes;
}

/** Uploads one 2-D weight (or 1-D F32 vector, as m = 1) in its GPU layout. */
export async function uploadWeight(
  pool: BufferPool,
  fh: FileHandle,
  dataOffset: number,
  tensor: GgufTensorInfo,
): Promise<GpuWeight> {
  const type = tensor.typeName as WeightType;
  const raw = await readTensor(fh, dataOffset, tensor);
  const buffer = pool.upload(tensor.name, repack(type, raw));
  return { buffer, type, k: tensor.dims[0] as number, m: tensor.dims[1] ?? 1 };
}

export function blocksOf(weight: Pick<GpuWeight, "k" | "m">): number {
  return (weight.k * weight.m) / BLOCK;
}
