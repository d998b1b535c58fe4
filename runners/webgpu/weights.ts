/**
 * Weight tensors on the GPU in their GGUF type: the file's bytes, laid out as weight-layout.ts
 * says (never an F32 copy).
 */
import type { FileHandle } from "node:fs/promises";
import type { GgufTensorInfo } from "../../lib/gguf/reader.js";
import type { BufferPool } from "./buffers.js";
import { repack, type WeightType } from "./weight-layout.js";

export interface GpuWeight {
  buffer: GPUBuffer;
  type: WeightType;
  /** Row length (ggml ne0). */
  k: number;
  /** Rows (ggml ne1). */
  m: number;
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
