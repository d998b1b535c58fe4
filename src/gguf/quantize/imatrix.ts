import { open, readFile } from "node:fs/promises";
import { GGML_TYPES } from "../../../lib/gguf/ggml-types.js";
import { readGguf } from "../../../lib/gguf/reader.js";
import { InputError, messageOf } from "../../errors.js";
import { FORMATS } from "./formats.js";
import type { TensorPlan } from "./plan.js";

/** Types whose llama.cpp quantizer reads quant_weights; F16/BF16/Q8_0 ignore them. */
const USES_WEIGHTS = new Set([
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
  "Q2_K",
  "Q3_K",
  "Q4_K",
  "Q5_K",
  "Q6_K",
  "IQ4_NL",
  "IQ4_XS",
]);

/** Tensors llama-imatrix does not record (looked up by row, not multiplied), or may not. */
const NOT_RECORDED = new Set(["token_embd.weight", "per_layer_token_embd.weight", "output.weight"]);

/**
 * llama-quantize's checks of an imatrix against the tensors it is used for: an entry of another
 * size is an error (except token_embd). Beyond llama-quantize: an imatrix with no entry for any
 * of the tensors it should cover (another model's) is an error naming one. Returns the tensors
 * without an entry, which are quantized without weights as llama-quantize does.
 */
export function checkImatrix(
  tensors: readonly TensorPlan[],
  imatrix: ReadonlyMap<string, Float32Array>,
  location: string,
): string[] {
  const missing: string[] = [];
  let covered = 0;
  for (const p of tensors) {
    if (!p.convert) continue;
    const weights = imatrix.get(p.tensor.name);
    if (weights === undefined) {
      if (!NOT_RECORDED.has(p.tensor.name)) missing.push(p.tensor.name);
      continue;
    }
    covered++;
    const expected = (p.tensor.dims[0] ?? 1) * (p.tensor.dims[2] ?? 1);
    const name = p.tensor.name;
    if (
      weights.length !== expected &&
      name !== "token_embd.weight" &&
      name !== "per_layer_token_embd.weight"
    ) {
      throw new InputError(
        "BAD_INPUT",
        `imatrix entry for tensor ${name} has ${weights.length} values, the tensor needs ${expected} (an imatrix of another model?)`,
        { location },
      );
    }
    const type = GGML_TYPES.get(p.type)?.name ?? "";
    if (USES_WEIGHTS.has(type) && FORMATS.get(p.type)?.quantizeRowWeighted === undefined) {
      throw new InputError(
        "BAD_USAGE",
        `tensor ${name} becomes ${type}, which qbench cannot yet quantize with an imatrix`,
        { location },
      );
    }
  }
  if (covered === 0 && missing.length > 0) {
    throw new InputError(
      "BAD_INPUT",
      `the imatrix has no entry for tensor ${missing[0]} nor for any of the other ${missing.length - 1} tensors it should cover (an imatrix of another model?)`,
      { location },
    );
  }
  return missing;
}

/** An importance matrix as llama-quantize uses it: per tensor, sums divided by counts. */
export interface Imatrix {
  entries: Map<string, Float32Array>;
  /** imatrix.datasets (GGUF) or the dataset name a legacy file ends with. */
  datasets: string[];
  /** imatrix.chunk_count, or the legacy file's trailing call count; 0 when absent. */
  chunkCount: number;
}

const fr = Math.fround;

function bad(path: string, message: string): InputError {
  return new InputError("BAD_INPUT", `not a usable imatrix: ${message}`, { location: path });
}

/** common_imatrix_load_legacy, then quantize.cpp's load_imatrix normalisation (sums / ncall). */
function parseLegacy(path: string, raw: Buffer): Imatrix {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = 0;
  const i32 = () => {
    if (at + 4 > raw.length) throw bad(path, `truncated at byte ${at}`);
    const v = view.getInt32(at, true);
    at += 4;
    return v;
  };
  const count = i32();
  if (count < 1) throw bad(path, "no entries");
  const entries = new Map<string, Float32Array>();
  for (let i = 0; i < count; i++) {
    const len = i32();
    if (len < 0 || at + len > raw.length) throw bad(path, `entry ${i + 1}: bad name length ${len}`);
    // The name is read as a C string: it ends at its first NUL.
    const name =
      raw
        .subarray(at, at + len)
        .toString("utf8")
        .split("\0")[0] ?? "";
    at += len;
    const ncall = i32();
    const nval = i32();
    if (nval < 1 || at + 4 * nval > raw.length)
      throw bad(path, `entry ${name}: bad value count ${nval}`);
    const sums = new Float32Array(nval);
    for (let j = 0; j < nval; j++) sums[j] = view.getFloat32(at + 4 * j, true);
    at += 4 * nval;
    if (ncall > 0) for (let j = 0; j < nval; j++) sums[j] = fr((sums[j] as number) / ncall);
    entries.set(name, sums);
  }
  let chunkCount = 0;
  const datasets: string[] = [];
  if (at + 4 <= raw.length) {
    chunkCount = i32();
    if (at + 4 <= raw.length) {
      const len = i32();
      if (len > 0 && at + len <= raw.length) {
        datasets.push(
          raw
            .subarray(at, at + len)
            .toString("utf8")
            .split("\0")[0] ?? "",
        );
      }
    }
  }
  return { entries, datasets, chunkCount };
}

/** common_imatrix_load for the GGUF format, then load_imatrix's per-expert sums / counts. */
async function parseGguf(path: string): Promise<Imatrix> {
  const file = await readGguf(path);
  const datasetsValue = file.metadata.get("imatrix.datasets");
  const chunkCountValue = file.metadata.get("imatrix.chunk_count");
  if (
    datasetsValue === undefined ||
    chunkCountValue === undefined ||
    !file.metadata.has("imatrix.chunk_size")
  ) {
    throw bad(path, "missing imatrix metadata (imatrix.datasets, chunk_count, chunk_size)");
  }
  const datasets =
    datasetsValue.type === "array" && datasetsValue.elementType === "string"
      ? (datasetsValue.items as string[])
      : [];
  const chunkCount = chunkCountValue.type === "uint32" ? chunkCountValue.value : 0;
  const pairs = new Map<
    string,
    { sums?: (typeof file.tensors)[number]; counts?: (typeof file.tensors)[number] }
  >();
  for (const t of file.tensors) {
    for (const [suffix, key] of [
      [".in_sum2", "sums"],
      [".counts", "counts"],
    ] as const) {
      if (t.name.endsWith(suffix) && t.name.length > suffix.length) {
        const name = t.name.slice(0, -suffix.length);
        pairs.set(name, { ...pairs.get(name), [key]: t });
      }
    }
  }
  const fh = await open(path, "r");
  const read = async (t: (typeof file.tensors)[number]): Promise<Float32Array> => {
    const bytes = new Uint8Array(t.byteSize);
    await fh.read(bytes, 0, t.byteSize, file.dataOffset + t.offset);
    return new Float32Array(bytes.buffer, 0, t.byteSize / 4);
  };
  const entries = new Map<string, Float32Array>();
  try {
    for (const [name, { sums, counts }] of [...pairs].sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    )) {
      if (sums === undefined || counts === undefined)
        throw bad(path, `mismatched sums and counts for ${name}`);
      if (sums.type !== 0 || counts.type !== 0)
        throw bad(path, `sums and counts for ${name} must be F32`);
      const s = await read(sums);
      const c = await read(counts);
      const ne0 = s.length / c.length;
      const e = new Float32Array(s.length);
      for (let j = 0; j < c.length; j++) {
        // std::lround, then (float): counts are whole numbers of tokens.
        const v = c[j] as number;
        const count = fr(Math.sign(v) * Math.round(Math.abs(v)));
        for (let i = 0; i < ne0; i++) {
          e[j * ne0 + i] = count > 0 ? fr((s[j * ne0 + i] as number) / count) : 1;
        }
      }
      entries.set(name, e);
    }
  } finally {
    await fh.close();
  }
  return { entries, datasets, chunkCount };
}

/** Reads llama-imatrix's output, GGUF or the legacy .dat (what is not GGUF is read as legacy, as llama.cpp does). */
export async function readImatrix(path: string): Promise<Imatrix> {
  const raw = await readFile(path).catch((error: unknown) => {
    throw new InputError("BAD_INPUT", `cannot read the imatrix: ${messageOf(error)}`, {
      location: path,
      cause: error,
    });
  });
  const imatrix =
    raw.subarray(0, 4).toString("latin1") === "GGUF"
      ? await parseGguf(path)
      : parseLegacy(path, raw);
  for (const [name, values] of imatrix.entries) {
    if (values.some((v) => !Number.isFinite(v))) {
      throw bad(path, `entry ${name} has a non-finite value (llama-quantize refuses it too)`);
    }
  }
  return imatrix;
}
