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

/**
 * The weights one build read from its file, by what was read. A rebuild for a file that differs
 * from the last one only in the tensors `changed` names (swap-weights) takes every entry none of
 * whose tensors changed as it is, its GPU buffers included; the rest it reads and uploads anew.
 */
export class WeightUploads {
  private readonly entries = new Map<
    string,
    { tensors: string[]; value: Promise<unknown>; reused: boolean }
  >();

  constructor(
    private readonly previous?: WeightUploads,
    private readonly changed: ReadonlySet<string> = new Set(),
  ) {}

  /** What `make` reads from `tensors` under `key`: made once per build, or the last build's. */
  get<T>(key: string, tensors: readonly GgufTensorInfo[], make: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      const names = tensors.map((t) => t.name);
      const old = this.previous?.entries.get(key);
      const reused =
        old !== undefined &&
        old.tensors.join("\n") === names.join("\n") &&
        !names.some((n) => this.changed.has(n));
      entry = { tensors: names, value: reused && old ? old.value : make(), reused };
      this.entries.set(key, entry);
    }
    return entry.value as Promise<T>;
  }

  /** The buffers of the entries taken from the last build. */
  async reusedBuffers(): Promise<Set<GPUBuffer>> {
    const out = new Set<GPUBuffer>();
    for (const entry of this.entries.values()) {
      if (entry.reused) for (const b of buffersOf(await entry.value)) out.add(b);
    }
    return out;
  }

  /** Tensors read from the file by this build (not taken from the last one). */
  get readTensors(): Set<string> {
    const out = new Set<string>();
    for (const entry of this.entries.values()) {
      if (!entry.reused) for (const name of entry.tensors) out.add(name);
    }
    return out;
  }
}

/** The GPU buffers in an uploaded value: a weight, its parts, a vector buffer. */
function buffersOf(value: unknown): GPUBuffer[] {
  if (Array.isArray(value)) return value.flatMap(buffersOf);
  if (value instanceof Object && "w" in value) return buffersOf((value as { w: unknown }).w);
  if (value instanceof Object && "buffer" in value && "type" in value) {
    return [(value as GpuWeight).buffer];
  }
  if (value instanceof Object && "destroy" in value) return [value as GPUBuffer];
  return [];
}
