/** A little-endian u32 field of a quant block (the fifth bits `qh` of Q5_0 and Q5_1). */
export function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}

export function getU32(q: Uint8Array, at: number): number {
  return (
    ((q[at] ?? 0) |
      ((q[at + 1] ?? 0) << 8) |
      ((q[at + 2] ?? 0) << 16) |
      ((q[at + 3] ?? 0) << 24)) >>>
    0
  );
}
