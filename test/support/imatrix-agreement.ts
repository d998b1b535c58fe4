import { readFileSync } from "node:fs";
import { readGguf } from "../../lib/gguf/reader.js";
import type { ImatrixFile } from "../../src/gguf/imatrix-file.js";

/** How one matrix's sums compare with a reference's: worst column, and the tensor as a vector. */
export interface MatrixAgreement {
  name: string;
  /** max_j |a_j − b_j| / |b_j| */
  maxColumn: number;
  /** ‖a − b‖₂ / ‖b‖₂ */
  tensor: number;
  countsEqual: boolean;
}

/** Per matrix of `ref`, how `got` agrees with it; a matrix `got` lacks is reported by name. */
export function compareImatrices(got: ImatrixFile, ref: ImatrixFile): MatrixAgreement[] {
  const mine = new Map(got.matrices.map((m) => [m.name, m]));
  return ref.matrices.map((r) => {
    const m = mine.get(r.name);
    if (!m || m.sums.length !== r.sums.length) {
      throw new Error(`${r.name}: ${m ? `${m.sums.length} sums vs ${r.sums.length}` : "missing"}`);
    }
    let maxColumn = 0;
    let num = 0;
    let den = 0;
    for (let j = 0; j < r.sums.length; j++) {
      const a = m.sums[j] as number;
      const b = r.sums[j] as number;
      maxColumn = Math.max(maxColumn, Math.abs(a - b) / Math.abs(b));
      num += (a - b) ** 2;
      den += b * b;
    }
    const countsEqual =
      m.counts.length === r.counts.length && m.counts.every((c, i) => c === r.counts[i]);
    return { name: r.name, maxColumn, tensor: Math.sqrt(num / den), countsEqual };
  });
}

/** Bytes of tensor data that differ between two GGUF files with the same tensors, and the total. */
export async function differingTensorBytes(
  a: string,
  b: string,
): Promise<{ differ: number; total: number; tensors: number; tensorsDiffering: number }> {
  const [fa, fb] = [await readGguf(a), await readGguf(b)];
  const [ra, rb] = [readFileSync(a), readFileSync(b)];
  let differ = 0;
  let total = 0;
  let tensorsDiffering = 0;
  for (const t of fa.tensors) {
    const u = fb.tensors.find((x) => x.name === t.name);
    if (!u || u.type !== t.type) throw new Error(`${t.name}: not the same type in ${b}`);
    const x = ra.subarray(fa.dataOffset + t.offset, fa.dataOffset + t.offset + t.byteSize);
    const y = rb.subarray(fb.dataOffset + u.offset, fb.dataOffset + u.offset + u.byteSize);
    let n = 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) n++;
    differ += n;
    total += x.length;
    if (n > 0) tensorsDiffering++;
  }
  return { differ, total, tensors: fa.tensors.length, tensorsDiffering };
}
