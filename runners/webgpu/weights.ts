/**
 * Weight tensors on the GPU in their GGUF type: the file's bytes, laid out as weight-layout.ts
 * says (never an F32 copy).
 */
import type { FileHandle } from "node:fs/promises";
import type { GgufTensorInfo } from "../../lib/gguf/reader.js";
import { BufferLimitError, type BufferPool } from "./buffers.js";
import { repack, type WeightType } from "./weight-layout.js";

export interface GpuWeight {
  buffer: GPUBuffer;
  type: WeightType;
  /** Row length (ggml ne0). */
  k: number;
  /** Rows (ggml ne1). */
  m: number;
  /** The first of the tensor's rows this buffer holds (a part of a tensor split at rows). */
  row0?: number;
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

/**
 * Whole rows of `tensor` one part may hold within the pool's storage binding limit, a multiple
 * of `align` (a head, for Q and K), or all its rows when it fits.
 */
export function rowsPerPart(pool: BufferPool, tensor: GgufTensorInfo, align = 1): number {
  const m = tensor.dims[1] ?? 1;
  const rowBytes = tensor.byteSize / m;
  if (tensor.byteSize + 4 <= pool.bindingLimit) return m;
  // The repacked part may grow by its scales' padding (one word) over its raw bytes.
  const rows = Math.floor((pool.bindingLimit - 4) / rowBytes / align) * align;
  if (rows < 1) {
    const what =
      align > 1
        ? `${align} rows (${align * rowBytes} bytes, one head)`
        : `one row (${rowBytes} bytes)`;
    throw new BufferLimitError(
      `tensor ${tensor.name}: ${what} exceed${align > 1 ? "" : "s"} this adapter's ${pool.bindingLimit}-byte storage binding limit (maxStorageBufferBindingSize)`,
    );
  }
  return rows;
}

/** Uploads rows row0 … row0 + rows of a tensor whose file bytes are `raw`, as one part. */
export function uploadRows(
  pool: BufferPool,
  tensor: GgufTensorInfo,
  raw: Uint8Array,
  row0: number,
  rows: number,
): GpuWeight {
  const type = tensor.typeName as WeightType;
  const rowBytes = tensor.byteSize / (tensor.dims[1] ?? 1);
  const bytes = raw.subarray(row0 * rowBytes, (row0 + rows) * rowBytes);
  const buffer = pool.upload(`${tensor.name} rows ${row0}…`, repack(type, bytes));
  return { buffer, type, k: tensor.dims[0] as number, m: rows, row0 };
}

/**
 * Uploads a 2-D weight in parts of whole rows, each within the pool's storage binding limit
 * (one part when it fits): a large vocabulary's tables, a wide model's projections.
 */
export async function uploadWeightRows(
  pool: BufferPool,
  fh: FileHandle,
  dataOffset: number,
  tensor: GgufTensorInfo,
): Promise<GpuWeight[]> {
  const m = tensor.dims[1] ?? 1;
  const perPart = rowsPerPart(pool, tensor);
  if (perPart >= m) return [await uploadWeight(pool, fh, dataOffset, tensor)];
  const raw = await readTensor(fh, dataOffset, tensor);
  const parts: GpuWeight[] = [];
  for (let row0 = 0; row0 < m; row0 += perPart) {
    parts.push(uploadRows(pool, tensor, raw, row0, Math.min(perPart, m - row0)));
  }
  return parts;
}
