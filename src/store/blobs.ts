/** Typed arrays as SQLite BLOBs, and back. */
type TypedArray = Float32Array | Int32Array | Uint16Array | Uint8Array;

export function blob(array: TypedArray): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** Copies a BLOB into a typed array (SQLite buffers need not be aligned for it). */
export function typed<T extends TypedArray>(
  data: Buffer,
  Type: { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
): T {
  const copy = new ArrayBuffer(data.byteLength);
  new Uint8Array(copy).set(data);
  return new Type(copy);
}
