import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { GGML_TYPES } from "../../lib/gguf/ggml-types.js";
import {
  GGUF_VALUE_TYPES,
  type GgufArray,
  type GgufNumericArray,
  type GgufValue,
  type GgufValueType,
  ggufTypedArray,
} from "../../lib/gguf/reader.js";
import { InputError } from "../errors.js";

/** Shorthands for building metadata values. */
export const ggufValue = {
  uint8: (value: number): GgufValue => ({ type: "uint8", value }),
  int8: (value: number): GgufValue => ({ type: "int8", value }),
  uint16: (value: number): GgufValue => ({ type: "uint16", value }),
  int16: (value: number): GgufValue => ({ type: "int16", value }),
  uint32: (value: number): GgufValue => ({ type: "uint32", value }),
  int32: (value: number): GgufValue => ({ type: "int32", value }),
  float32: (value: number): GgufValue => ({ type: "float32", value }),
  float64: (value: number): GgufValue => ({ type: "float64", value }),
  uint64: (value: bigint): GgufValue => ({ type: "uint64", value }),
  int64: (value: bigint): GgufValue => ({ type: "int64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  string: (value: string): GgufValue => ({ type: "string", value }),
  array: (elementType: GgufValueType, items: GgufArray["items"]): GgufArray => ({
    type: "array",
    elementType,
    items,
  }),
};

export interface GgufHeaderTensor {
  name: string;
  dims: readonly number[];
  /** ggml type id. */
  type: number;
  /** Relative to the data section; by default tensors are laid out in order, each padded to the alignment. */
  offset?: number;
}

export interface GgufHeaderSpec {
  /** 2 or 3 (the default); other numbers are written as given, to make bad files for tests. */
  version?: number;
  metadata: ReadonlyMap<string, GgufValue> | Readonly<Record<string, GgufValue>>;
  tensors: readonly GgufHeaderTensor[];
}

export interface GgufWriteTensor {
  name: string;
  dims: readonly number[];
  type: number;
  data: Uint8Array | AsyncIterable<Uint8Array>;
}

export interface GgufWriteSpec {
  version?: 2 | 3;
  metadata: GgufHeaderSpec["metadata"];
  tensors: readonly GgufWriteTensor[];
}

/** Bytes of data a tensor of this type and shape holds. */
export function ggufTensorByteSize(type: number, dims: readonly number[]): number {
  const ggml = GGML_TYPES.get(type);
  if (ggml === undefined) throw new InputError("BAD_INPUT", `unknown ggml type id ${type}`);
  const elements = dims.reduce((a, b) => a * b, 1);
  if ((dims[0] ?? 1) % ggml.blockSize !== 0) {
    throw new InputError(
      "BAD_INPUT",
      `rows of ${dims[0]} elements are not a multiple of the ${ggml.name} block size ${ggml.blockSize}`,
    );
  }
  return (elements / ggml.blockSize) * ggml.typeSize;
}

class Sink {
  parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.push(b);
  }
  u64(n: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.push(b);
  }
  string(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.push(bytes);
  }
}

const SCALAR_WRITERS: Partial<Record<GgufValueType, [number, (b: Buffer, v: never) => void]>> = {
  uint8: [1, (b, v: number) => b.writeUInt8(v)],
  int8: [1, (b, v: number) => b.writeInt8(v)],
  uint16: [2, (b, v: number) => b.writeUInt16LE(v)],
  int16: [2, (b, v: number) => b.writeInt16LE(v)],
  uint32: [4, (b, v: number) => b.writeUInt32LE(v)],
  int32: [4, (b, v: number) => b.writeInt32LE(v)],
  float32: [4, (b, v: number) => b.writeFloatLE(v)],
  bool: [1, (b, v: boolean) => b.writeUInt8(v ? 1 : 0)],
  uint64: [8, (b, v: bigint) => b.writeBigUInt64LE(v)],
  int64: [8, (b, v: bigint) => b.writeBigInt64LE(v)],
  float64: [8, (b, v: number) => b.writeDoubleLE(v)],
};

function typeId(type: GgufValueType): number {
  return GGUF_VALUE_TYPES.indexOf(type);
}

/** An array's element type, count and items (the array's own type tag is the caller's to write). */
function writeArrayBody(sink: Sink, key: string, v: GgufArray): void {
  sink.u32(typeId(v.elementType));
  sink.u64(v.items.length);
  const Typed = ggufTypedArray(v.elementType);
  if (Typed) {
    if (!(v.items instanceof Typed)) {
      throw new InputError(
        "BAD_INPUT",
        `metadata ${key}: ${v.elementType} items must be a ${Typed.name}`,
      );
    }
    const items = v.items as GgufNumericArray;
    // Little-endian host assumed, as in the reader.
    sink.push(Buffer.from(items.buffer, items.byteOffset, items.byteLength));
  } else if (v.elementType === "bool") {
    sink.push(Buffer.from((v.items as boolean[]).map((x) => (x ? 1 : 0))));
  } else if (v.elementType === "string") {
    for (const s of v.items as string[]) sink.string(s);
  } else {
    for (const item of v.items as GgufArray[]) writeArrayBody(sink, key, item);
  }
}

function writeValue(sink: Sink, key: string, v: GgufValue): void {
  sink.u32(typeId(v.type));
  if (v.type === "array") writeArrayBody(sink, key, v);
  else if (v.type === "string") sink.string(v.value);
  else {
    const [size, write] = SCALAR_WRITERS[v.type] ?? [0, () => {}];
    const b = Buffer.alloc(size);
    (write as (b: Buffer, v: unknown) => void)(b, v.value);
    sink.push(b);
  }
}

function entries(metadata: GgufHeaderSpec["metadata"]): [string, GgufValue][] {
  return metadata instanceof Map ? [...metadata] : Object.entries(metadata);
}

function alignmentOf(metadata: GgufHeaderSpec["metadata"]): number {
  const v = entries(metadata).find(([k]) => k === "general.alignment")?.[1];
  return v?.type === "uint32" ? v.value : 32;
}

const pad = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment;

/** Header, metadata and tensor infos, padded to the alignment when there are tensors: the bytes before the data section. */
export function serializeGgufHeader(spec: GgufHeaderSpec): Buffer {
  const meta = entries(spec.metadata);
  const alignment = alignmentOf(spec.metadata);
  const sink = new Sink();
  sink.push(Buffer.from("GGUF", "latin1"));
  sink.u32(spec.version ?? 3);
  sink.u64(spec.tensors.length);
  sink.u64(meta.length);
  for (const [key, value] of meta) {
    sink.string(key);
    writeValue(sink, key, value);
  }
  let next = 0;
  for (const t of spec.tensors) {
    sink.string(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(t.type);
    const offset = t.offset ?? next;
    sink.u64(offset);
    if (t.offset === undefined) next = pad(offset + ggufTensorByteSize(t.type, t.dims), alignment);
  }
  if (spec.tensors.length > 0) sink.push(Buffer.alloc(pad(sink.length, alignment) - sink.length));
  return Buffer.concat(sink.parts);
}

/** Writes a complete GGUF file under a temporary name, then renames it into place. */
export async function writeGguf(path: string, spec: GgufWriteSpec): Promise<void> {
  const alignment = alignmentOf(spec.metadata);
  const sizes = spec.tensors.map((t) => ggufTensorByteSize(t.type, t.dims));
  const header = serializeGgufHeader(spec);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fh = await open(tmp, "wx");
  try {
    let pos = 0;
    const put = async (b: Uint8Array) => {
      await fh.write(b, 0, b.length, pos);
      pos += b.length;
    };
    await put(header);
    for (const [i, t] of spec.tensors.entries()) {
      const start = pos;
      if (t.data instanceof Uint8Array) await put(t.data);
      else for await (const chunk of t.data) await put(chunk);
      const expected = sizes[i] ?? 0;
      if (pos - start !== expected) {
        throw new InputError(
          "BAD_INPUT",
          `tensor ${t.name} has ${pos - start} bytes of data but its type and shape need ${expected}`,
        );
      }
      await put(Buffer.alloc(pad(pos, alignment) - pos));
    }
    await fh.close();
    await rename(tmp, path);
  } catch (error) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw error;
  }
}
