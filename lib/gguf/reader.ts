import { type FileHandle, open } from "node:fs/promises";
import { GgufError } from "./errors.js";
import { GGML_TYPES, REMOVED_GGML_TYPES } from "./ggml-types.js";

export { GgufError } from "./errors.js";

type Read = (b: Buffer, o: number) => number | bigint | boolean;
type Typed = new (n: number) => GgufNumericArray;
/**
 * GGUF metadata value types, indexed by their id in the file (gguf.h enum gguf_type): name, the
 * smallest encoding of one value (to refuse counts the rest of the file cannot hold), the typed
 * array that holds an array of them, and how to read one.
 */
const VALUE_TYPES = [
  ["uint8", 1, Uint8Array, (b: Buffer, o: number) => b.readUInt8(o)],
  ["int8", 1, Int8Array, (b: Buffer, o: number) => b.readInt8(o)],
  ["uint16", 2, Uint16Array, (b: Buffer, o: number) => b.readUInt16LE(o)],
  ["int16", 2, Int16Array, (b: Buffer, o: number) => b.readInt16LE(o)],
  ["uint32", 4, Uint32Array, (b: Buffer, o: number) => b.readUInt32LE(o)],
  ["int32", 4, Int32Array, (b: Buffer, o: number) => b.readInt32LE(o)],
  ["float32", 4, Float32Array, (b: Buffer, o: number) => b.readFloatLE(o)],
  ["bool", 1, undefined, (b: Buffer, o: number) => b.readUInt8(o) !== 0],
  ["string", 8, undefined, undefined],
  ["array", 12, undefined, undefined],
  ["uint64", 8, BigUint64Array, (b: Buffer, o: number) => b.readBigUInt64LE(o)],
  ["int64", 8, BigInt64Array, (b: Buffer, o: number) => b.readBigInt64LE(o)],
  ["float64", 8, Float64Array, (b: Buffer, o: number) => b.readDoubleLE(o)],
] as const satisfies readonly (readonly [string, number, Typed | undefined, Read | undefined])[];
export type GgufValueType = (typeof VALUE_TYPES)[number][0];
export const GGUF_VALUE_TYPES: readonly GgufValueType[] = VALUE_TYPES.map((t) => t[0]);

export type GgufNumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | BigUint64Array
  | BigInt64Array
  | Float64Array;

export interface GgufArray {
  type: "array";
  elementType: GgufValueType;
  items: GgufNumericArray | boolean[] | string[] | GgufArray[];
}
export type GgufValue =
  | { type: "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32"; value: number }
  | { type: "float32" | "float64"; value: number }
  | { type: "uint64" | "int64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | GgufArray;

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  /** ggml type id; see ggml-types.ts. */
  type: number;
  typeName: string;
  /** Relative to the start of the data section. */
  offset: number;
  byteSize: number;
  elementCount: number;
}

export interface GgufFile {
  path: string;
  version: number;
  fileSize: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset of the tensor data section. */
  dataOffset: number;
}

const CHUNK = 1 << 20;
// Bounds on strings, arrays and nesting, so a corrupt length cannot make us allocate gigabytes.
const MAX_STRING = 64 << 20;
const MAX_ARRAY_BYTES = 1 << 30;
const MAX_DEPTH = 8;
const MAX_DIMS = 4; // GGML_MAX_DIMS
/** The typed array that holds an array of each numeric type. */
export function ggufTypedArray(type: GgufValueType): Typed | undefined {
  return VALUE_TYPES.find((t) => t[0] === type)?.[2];
}

type What = () => string;

/** Positioned reads through a 1 MiB window; callers check `avail` and only await `fill` on a miss. */
class Reader {
  buf: Buffer = Buffer.alloc(0);
  store: Buffer | undefined; // the reusable 1 MiB window that buf points into
  start = 0; // file offset of buf[0]
  off = 0; // read position inside buf
  constructor(
    readonly fh: FileHandle,
    readonly path: string,
    readonly size: number,
  ) {}
  get pos(): number {
    return this.start + this.off;
  }
  get avail(): number {
    return this.buf.length - this.off;
  }
  fail(message: string): GgufError {
    return new GgufError(this.path, message);
  }
  async fill(n: number, what: What): Promise<void> {
    const pos = this.pos;
    if (pos + n > this.size) {
      throw this.fail(
        `file is truncated: reading ${what()} needs bytes [${pos}, ${pos + n}) but the file has ${this.size} bytes`,
      );
    }
    const len = Math.min(Math.max(n, CHUNK), this.size - pos);
    this.store ??= Buffer.allocUnsafe(CHUNK);
    const buf = len <= CHUNK ? this.store : Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, got, len - got, pos + got);
      if (bytesRead === 0) throw this.fail(`file shrank while reading ${what()} at offset ${pos}`);
      got += bytesRead;
    }
    this.buf = buf.subarray(0, len);
    this.start = pos;
    this.off = 0;
  }
  async need(n: number, what: What): Promise<void> {
    if (this.avail < n) await this.fill(n, what);
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  /** A u64 that must fit in a JS number. */
  u64(what: What): number {
    const lo = this.buf.readUInt32LE(this.off);
    const hi = this.buf.readUInt32LE(this.off + 4);
    if (hi > 0x1fffff)
      throw this.fail(
        `${what()} at offset ${this.pos} is ${this.buf.readBigUInt64LE(this.off)}, over 2^53`,
      );
    this.off += 8;
    return hi * 0x1_0000_0000 + lo;
  }
  /** A count of items needing at least `minBytes` each, refused when the rest of the file cannot hold them. */
  count(minBytes: number, what: What): number {
    const at = this.pos;
    const n = this.u64(what);
    const rest = this.size - this.pos;
    if (n * minBytes > rest) {
      throw this.fail(
        `${what()} at offset ${at} is ${n}, but that many need at least ${n * minBytes} bytes and only ${rest} remain after offset ${this.pos} (corrupt count or truncated file)`,
      );
    }
    return n;
  }
  /** The next string when it is wholly in the window, else undefined: the fast path for token lists. */
  bufferedString(): string | undefined {
    if (this.avail < 8 || this.buf.readUInt32LE(this.off + 4) !== 0) return undefined;
    const len = this.buf.readUInt32LE(this.off);
    if (this.avail < 8 + len) return undefined;
    this.off += 8 + len;
    return this.buf.toString("utf8", this.off - len, this.off);
  }
  async string(what: What): Promise<string> {
    const fast = this.bufferedString();
    if (fast !== undefined) return fast;
    await this.need(8, what);
    const len = this.count(1, what);
    if (len > MAX_STRING)
      throw this.fail(
        `${what()} at offset ${this.pos - 8} is ${len} bytes, over the ${MAX_STRING}-byte limit`,
      );
    await this.need(len, what);
    const s = this.buf.toString("utf8", this.off, this.off + len);
    this.off += len;
    return s;
  }
  /** Copies `into.length` bytes, however many windows they span. */
  async bytes(into: Uint8Array, what: What): Promise<void> {
    let done = 0;
    while (done < into.length) {
      if (this.avail === 0) await this.fill(Math.min(CHUNK, into.length - done), what);
      const n = Math.min(this.avail, into.length - done);
      into.set(this.buf.subarray(this.off, this.off + n), done);
      this.off += n;
      done += n;
    }
  }
}

async function readValue(r: Reader, typeId: number, what: What, depth = 0): Promise<GgufValue> {
  const [type, size, , read] = VALUE_TYPES[typeId] ?? [];
  if (type === undefined)
    throw r.fail(`${what()} has unknown value type ${typeId} (at offset ${r.pos - 4})`);
  if (type === "array") return readArray(r, what, depth);
  if (type === "string") return { type, value: await r.string(what) };
  await r.need(size, what);
  r.off += size;
  return { type, value: read?.(r.buf, r.off - size) } as GgufValue;
}

async function readArray(r: Reader, what: What, depth: number): Promise<GgufArray> {
  if (depth >= MAX_DEPTH) throw r.fail(`${what()} nests arrays more than ${MAX_DEPTH} deep`);
  await r.need(12, what);
  const typeId = r.u32();
  const [elementType, minBytes, Typed] = VALUE_TYPES[typeId] ?? [];
  if (elementType === undefined)
    throw r.fail(`${what()} is an array of unknown value type ${typeId}`);
  const n = r.count(minBytes ?? 1, () => `${what()} element count`);
  if (n * (minBytes ?? 1) > MAX_ARRAY_BYTES) {
    throw r.fail(`${what()} is an array of ${n} ${elementType} values, over the 1 GiB limit`);
  }
  const item = (i: number) => () => `${what()}, element ${i} of ${n}`;
  if (Typed) {
    const items = new Typed(n);
    // GGUF is little-endian, as is every host Node runs on in practice, so the bytes copy as they are.
    await r.bytes(new Uint8Array(items.buffer), what);
    return { type: "array", elementType, items };
  }
  if (elementType === "bool") {
    const raw = new Uint8Array(n);
    await r.bytes(raw, what);
    return { type: "array", elementType, items: Array.from(raw, (b) => b !== 0) };
  }
  if (elementType === "string") {
    const items: string[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = r.bufferedString() ?? (await r.string(item(i)));
    return { type: "array", elementType, items };
  }
  const items: GgufArray[] = new Array(n);
  for (let i = 0; i < n; i++) items[i] = await readArray(r, item(i), depth + 1);
  return { type: "array", elementType, items };
}

/** Reads the header, metadata and tensor table of a GGUF v2/v3 file, never the tensor data. */
export async function readGguf(path: string): Promise<GgufFile> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (cause) {
    throw new GgufError(
      path,
      `cannot open model file: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  try {
    return await parse(new Reader(fh, path, (await fh.stat()).size));
  } finally {
    await fh.close();
  }
}

async function parse(r: Reader): Promise<GgufFile> {
  if (r.size < 4) throw r.fail(`not a GGUF file: it is only ${r.size} bytes long`);
  await r.fill(4, () => "magic");
  const magic = r.buf.subarray(0, 4);
  if (magic.toString("latin1") !== "GGUF") {
    const hex = [...magic].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const text = [...magic]
      .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "."))
      .join("");
    throw r.fail(
      `not a GGUF file: expected magic "GGUF" (47 47 55 46) but the first 4 bytes are ${hex} ("${text}")`,
    );
  }
  r.off = 4;
  await r.need(4, () => "GGUF version");
  const version = r.u32();
  if (version === 1) {
    throw r.fail(
      "GGUF version 1 is not supported (it used 32-bit counts and lengths); re-convert the model with a current llama.cpp",
    );
  }
  if (version !== 2 && version !== 3) {
    const swapped =
      (version & 0xffff) === 0 ? " (byte-swapped: big-endian GGUF files are not supported)" : "";
    throw r.fail(
      `unsupported GGUF version ${version}${swapped}; only versions 2 and 3 are supported`,
    );
  }
  await r.need(16, () => "tensor count and metadata count");
  const nTensors = r.count(24, () => "tensor count");
  const nKv = r.count(13, () => "metadata count");
  if (nTensors * 24 + nKv * 13 > r.size - r.pos) {
    throw r.fail(
      `header claims ${nTensors} tensors and ${nKv} metadata keys, more than the ${r.size}-byte file can hold`,
    );
  }

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = await r.string(() => `metadata key ${i} name`);
    const what = () => `metadata key ${i} (${key}) value`;
    if (metadata.has(key)) throw r.fail(`metadata key ${i} (${key}) appears twice`);
    await r.need(4, () => `metadata key ${i} (${key}) type`);
    metadata.set(key, await readValue(r, r.u32(), what));
  }

  let alignment = 32;
  const align = metadata.get("general.alignment");
  if (align !== undefined) {
    if (align.type !== "uint32")
      throw r.fail(`metadata general.alignment must be uint32 but is ${align.type}`);
    alignment = align.value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
      throw r.fail(`metadata general.alignment is ${alignment}, not a power of 2`);
    }
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = await r.string(() => `tensor info ${i} name`);
    const what = (part: string) => () => `tensor info ${i} (${name}) ${part}`;
    if (names.has(name)) throw r.fail(`tensor ${name} appears twice in the tensor table`);
    names.add(name);
    await r.need(4, what("dimension count"));
    const nDims = r.u32();
    if (nDims > MAX_DIMS)
      throw r.fail(`tensor ${name} has ${nDims} dimensions; ggml allows at most ${MAX_DIMS}`);
    await r.need(8 * nDims + 12, what("dims, type and offset"));
    const dims: number[] = [];
    let elementCount = 1;
    for (let d = 0; d < nDims; d++) {
      const dim = r.u64(what(`dimension ${d}`));
      elementCount *= dim;
      dims.push(dim);
    }
    if (!Number.isSafeInteger(elementCount))
      throw r.fail(`tensor ${name} with shape [${dims.join(", ")}] has over 2^53 elements`);
    const type = r.u32();
    const offset = r.u64(what("data offset"));
    const ggml = GGML_TYPES.get(type);
    if (ggml === undefined) {
      const removed = REMOVED_GGML_TYPES.get(type);
      const detail = removed
        ? `removed ggml type ${removed} (id ${type})`
        : `unknown ggml type id ${type}`;
      throw r.fail(`tensor ${name} has ${detail}`);
    }
    if ((dims[0] ?? 1) % ggml.blockSize !== 0) {
      throw r.fail(
        `tensor ${name} of type ${ggml.name} has rows of ${dims[0]} elements, not a multiple of its block size ${ggml.blockSize}`,
      );
    }
    if (offset % alignment !== 0) {
      throw r.fail(
        `tensor ${name} has data offset ${offset}, not a multiple of the alignment ${alignment}`,
      );
    }
    const byteSize = (elementCount / ggml.blockSize) * ggml.typeSize;
    tensors.push({ name, dims, type, typeName: ggml.name, offset, byteSize, elementCount });
  }

  const dataOffset = nTensors > 0 ? Math.ceil(r.pos / alignment) * alignment : r.pos;
  for (const t of tensors) {
    const end = dataOffset + t.offset + t.byteSize;
    if (end > r.size) {
      throw r.fail(
        `file is truncated: tensor ${t.name} needs bytes [${dataOffset + t.offset}, ${end}) but the file has ${r.size} bytes`,
      );
    }
  }
  return { path: r.path, version, fileSize: r.size, metadata, tensors, alignment, dataOffset };
}

function typeLabel(v: GgufValue): string {
  return v.type === "array" ? `array of ${v.elementType}` : v.type;
}

function wrongType(file: GgufFile, key: string, want: string, v: GgufValue): GgufError {
  return new GgufError(file.path, `metadata ${key} must be ${want} but is ${typeLabel(v)}`);
}

export function getValue(file: GgufFile, key: string): GgufValue {
  const v = file.metadata.get(key);
  if (v === undefined) {
    throw new GgufError(file.path, `metadata key ${key} is missing`);
  }
  return v;
}

function asString(file: GgufFile, key: string, v: GgufValue): string {
  if (v.type !== "string") throw wrongType(file, key, "a string", v);
  return v.value;
}

function asNumber(file: GgufFile, key: string, v: GgufValue): number {
  if (v.type === "uint64" || v.type === "int64") {
    const n = Number(v.value);
    if (!Number.isSafeInteger(n)) {
      throw new GgufError(file.path, `metadata ${key} is ${v.value}, beyond 2^53`);
    }
    return n;
  }
  if (v.type === "array" || typeof v.value !== "number") throw wrongType(file, key, "a number", v);
  return v.value;
}

/** Any numeric type; 64-bit integers must fit in a JS number. */
export function getNumber(file: GgufFile, key: string): number {
  return asNumber(file, key, getValue(file, key));
}

export function getString(file: GgufFile, key: string): string {
  return asString(file, key, getValue(file, key));
}

export function getBoolean(file: GgufFile, key: string): boolean {
  const v = getValue(file, key);
  if (v.type !== "bool") throw wrongType(file, key, "a bool", v);
  return v.value;
}

export function getArray(file: GgufFile, key: string): GgufArray {
  const v = getValue(file, key);
  if (v.type !== "array") throw wrongType(file, key, "an array", v);
  return v;
}

export function getStringArray(file: GgufFile, key: string): string[] {
  const v = getArray(file, key);
  if (v.elementType !== "string") throw wrongType(file, key, "an array of string", v);
  return v.items as string[];
}

/** Like getNumber, but undefined when the key is absent. */
export function findNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key);
  return v === undefined ? undefined : asNumber(file, key, v);
}

/** Like getString, but undefined when the key is absent. */
export function findString(file: GgufFile, key: string): string | undefined {
  const v = file.metadata.get(key);
  return v === undefined ? undefined : asString(file, key, v);
}
