/**
 * llama-imatrix's GGUF output (IMatrixCollector::save_imatrix): `general.type` = imatrix, the
 * datasets, chunk count and size, then per weight matrix, in name order, `<name>.in_sum2`
 * (F32, [columns, matrices]: the raw Σ x²) and `<name>.counts` (F32, [1, matrices]: tokens).
 * quantize/imatrix.ts reads it as llama-quantize does (sums ÷ counts); `readImatrixFile` here
 * gives the raw sums and counts back, to compare two files.
 */
import { open } from "node:fs/promises";
import { readGguf } from "../../lib/gguf/reader.js";
import { InputError } from "../errors.js";
import { ggufValue, writeGguf } from "./writer.js";

/** One weight matrix's entry (the runner protocol's ImatrixMatrix has this shape). */
export interface ImatrixEntry {
  name: string;
  /** Σ x² per input column, matrix-major when there are several (experts). */
  sums: readonly number[];
  /** Tokens summed, one per matrix. */
  counts: readonly number[];
}

export interface ImatrixFile {
  /** The calibration texts' names, as llama-imatrix records its `-f` argument. */
  datasets: string[];
  /** Chunks evaluated (imatrix.chunk_count). */
  chunkCount: number;
  /** Tokens per chunk (imatrix.chunk_size: llama-imatrix's -c). */
  chunkSize: number;
  matrices: readonly ImatrixEntry[];
}

const F32 = 0;

function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** ggml's shape as gguf writes it: trailing dimensions of 1 dropped (ggml_n_dims). */
const gguf2d = (ne0: number, ne1: number) => (ne1 === 1 ? [ne0] : [ne0, ne1]);

export async function writeImatrix(path: string, file: ImatrixFile): Promise<void> {
  const sorted = [...file.matrices].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const tensors = sorted.flatMap((m) => {
    const nmat = m.counts.length;
    if (nmat < 1 || m.sums.length % nmat !== 0) {
      throw new InputError(
        "BAD_INPUT",
        `imatrix entry ${m.name}: ${m.sums.length} sums do not split into ${nmat} matrices`,
      );
    }
    return [
      {
        name: `${m.name}.in_sum2`,
        dims: gguf2d(m.sums.length / nmat, nmat),
        type: F32,
        data: f32Bytes(m.sums),
      },
      { name: `${m.name}.counts`, dims: gguf2d(1, nmat), type: F32, data: f32Bytes(m.counts) },
    ];
  });
  await writeGguf(path, {
    metadata: new Map([
      ["general.type", ggufValue.string("imatrix")],
      ["imatrix.datasets", ggufValue.array("string", file.datasets)],
      ["imatrix.chunk_count", ggufValue.uint32(file.chunkCount)],
      ["imatrix.chunk_size", ggufValue.uint32(file.chunkSize)],
    ]),
    tensors,
  });
}

/** The raw entries and metadata of a GGUF imatrix (F32 tensors, as llama-imatrix writes them). */
export async function readImatrixFile(path: string): Promise<ImatrixFile> {
  const file = await readGguf(path);
  const scalar = (key: string) => {
    const v = file.metadata.get(key);
    return v && v.type !== "array" ? v.value : undefined;
  };
  const datasets = file.metadata.get("imatrix.datasets");
  const count = scalar("imatrix.chunk_count");
  const size = scalar("imatrix.chunk_size");
  if (
    scalar("general.type") !== "imatrix" ||
    !datasets ||
    count === undefined ||
    size === undefined
  ) {
    throw new InputError("BAD_INPUT", "not an imatrix GGUF (general.type, imatrix.* keys)", {
      location: path,
    });
  }
  const fh = await open(path, "r");
  const read = async (name: string): Promise<number[]> => {
    const t = file.tensors.find((x) => x.name === name);
    if (!t || t.type !== F32) {
      throw new InputError("BAD_INPUT", `no F32 tensor ${name}`, { location: path });
    }
    const bytes = new Uint8Array(t.byteSize);
    await fh.read(bytes, 0, t.byteSize, file.dataOffset + t.offset);
    return Array.from(new Float32Array(bytes.buffer));
  };
  try {
    const matrices: ImatrixEntry[] = [];
    for (const t of file.tensors) {
      if (!t.name.endsWith(".in_sum2")) continue;
      const name = t.name.slice(0, -".in_sum2".length);
      matrices.push({ name, sums: await read(t.name), counts: await read(`${name}.counts`) });
    }
    return {
      datasets: datasets.type === "array" ? (datasets.items as string[]) : [],
      chunkCount: Number(count),
      chunkSize: Number(size),
      matrices,
    };
  } finally {
    await fh.close();
  }
}
