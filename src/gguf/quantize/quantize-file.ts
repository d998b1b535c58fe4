import { type FileHandle, open, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { GGML_TYPES } from "../../../lib/gguf/ggml-types.js";
import { type GgufFile, readGguf } from "../../../lib/gguf/reader.js";
import { InputError, messageOf, QbenchError } from "../../errors.js";
import { writeGguf } from "../writer.js";
import { Scratch } from "./convert-slab.js";
import { mixesByDefault, type QuantizeTarget } from "./formats.js";
import { checkImatrix, type Imatrix } from "./imatrix.js";
import type { TensorTypeOverride } from "./mix.js";
import { planQuantization, type TensorPlan } from "./plan.js";
import { SlabConverter } from "./slab-converter.js";

export interface QuantizeProgress {
  tensorsDone: number;
  tensorCount: number;
  /** Bytes of input tensor data processed so far. */
  bytesDone: number;
  bytesTotal: number;
  elapsedMs: number;
}

export interface QuantizeOptions {
  input: string;
  output: string;
  target: QuantizeTarget;
  /** Dequantize and quantize again tensors that are already quantized (llama-quantize --allow-requantize). */
  allowRequantize?: boolean;
  /**
   * Every quantizable tensor gets the target type (llama-quantize --pure), or llama-quantize's
   * mix. Default: the mix for the k-quant and IQ4 targets, --pure for the legacy and float ones
   * (what qbench always made of them, so plan caches keyed by type stay valid). The CLI always
   * says which.
   */
  pure?: boolean;
  /** llama-quantize --tensor-type overrides, first match wins. */
  tensorTypes?: readonly TensorTypeOverride[];
  /** llama-quantize --output-tensor-type: output.weight's ggml type, mix or --pure. */
  outputTensorType?: number;
  /** llama-quantize --token-embedding-type: token_embd's ggml type, mix or --pure. */
  tokenEmbeddingType?: number;
  /** llama-quantize --leave-output-tensor: output.weight copied as it is. */
  leaveOutputTensor?: boolean;
  /** Importance weights (llama-quantize --imatrix): the file as the user named it, and its contents (readImatrix). */
  imatrix?: { path: string; data: Imatrix };
  /** Called after every slab of rows; cheap to ignore. */
  onProgress?: (progress: QuantizeProgress) => void;
  /** Most input bytes read at once (whole rows; at least one row). Bounds memory to a few times this. */
  slabBytes?: number;
  /**
   * Threads converting rows (llama-quantize's nthread). Default: the machine's cores, up to 8,
   * for inputs of 32 MiB or more (below that, starting workers costs more than it saves); 1 for smaller ones.
   */
  threads?: number;
}

export interface QuantizeResult {
  input: string;
  output: string;
  target: string;
  tensorCount: number;
  /** Tensors converted, by output type name. */
  converted: Record<string, number>;
  /** Tensors copied unchanged (norms, tensors already in their output type). */
  copied: number;
  /** Tensors whose row length forced another type than the mix chose (llama.cpp's tensor_type_fallback). */
  fallbacks: string[];
  /** Those fall-backs, counted by the type they got. */
  fallbackTypes: Record<string, number>;
  /** Converted tensors the imatrix has no entry for (quantized without weights, as llama-quantize does). */
  imatrixMissing: string[];
  inputBytes: number;
  outputBytes: number;
  seconds: number;
}

const DEFAULT_SLAB_BYTES = 16 << 20;
const PARALLEL_MIN_BYTES = 32 << 20;
const MAX_DEFAULT_THREADS = 8;
/** Errors that say the destination cannot take the file: the user's to fix (exit 2), not a crash. */
const DESTINATION_ERRORS = new Set([
  "EACCES",
  "EPERM",
  "EROFS",
  "ENOSPC",
  "EDQUOT",
  "EFBIG",
  "ENOENT",
  "ENOTDIR",
  "EISDIR",
  "ENAMETOOLONG",
]);

async function readFully(fh: FileHandle, into: Uint8Array, position: number, path: string) {
  let got = 0;
  while (got < into.length) {
    const { bytesRead } = await fh.read(into, got, into.length - got, position + got);
    if (bytesRead === 0) {
      throw new InputError("BAD_MODEL", `file shrank while reading tensor data at ${position}`, {
        location: path,
      });
    }
    got += bytesRead;
  }
}

interface Streams {
  fh: FileHandle;
  file: GgufFile;
  slabBytes: number;
  /** Two input buffers: one being read while the other is converted or written. */
  inputs: [Scratch, Scratch];
  output: Scratch;
  converter: SlabConverter;
  imatrix: ReadonlyMap<string, Float32Array> | undefined;
  /** Called with the input bytes of each slab once it has been handed on. */
  advance: (bytes: number) => void;
}

/**
 * One tensor's output bytes, a slab of whole rows at a time: read, check, convert, check (see
 * convertSlab). The next slab is read while this one is converted and written. Buffers are
 * reused: the writer awaits each write before it asks for the next slab.
 */
async function* tensorData(s: Streams, p: TensorPlan): AsyncGenerator<Uint8Array> {
  const t = p.tensor;
  const source = GGML_TYPES.get(t.type);
  const target = GGML_TYPES.get(p.type);
  if (source === undefined || target === undefined) {
    throw new Error(`unreachable: unknown type ${t.type} or ${p.type}`);
  }
  const rowLength = t.dims[0] ?? 1;
  const rowBytes = (rowLength / source.blockSize) * source.typeSize;
  const outRowBytes = (rowLength / target.blockSize) * target.typeSize;
  const rows = rowLength > 0 ? t.elementCount / rowLength : 0;
  const rowsPerSlab = Math.max(1, Math.floor(s.slabBytes / Math.max(rowBytes, 1)));
  const bad = (message: string) =>
    new InputError("BAD_MODEL", `tensor ${t.name}: ${message}`, { location: s.file.path });
  const read = async (slab: number): Promise<Uint8Array> => {
    const row = slab * rowsPerSlab;
    const raw = (s.inputs[slab % 2] as Scratch).bytes(Math.min(rowsPerSlab, rows - row) * rowBytes);
    await readFully(s.fh, raw, s.file.dataOffset + t.offset + row * rowBytes, s.file.path);
    return raw;
  };
  const slabs = Math.ceil(rows / rowsPerSlab);
  let next = slabs > 0 ? read(0) : undefined;
  for (let slab = 0; slab < slabs; slab++) {
    const raw = await (next as Promise<Uint8Array>);
    next = slab + 1 < slabs ? read(slab + 1) : undefined;
    // A failed prefetch surfaces when awaited; until then keep it from counting as unhandled.
    next?.catch(() => {});
    const n = raw.length / rowBytes;
    const out = p.convert ? s.output.bytes(n * outRowBytes) : undefined;
    const row = slab * rowsPerSlab;
    // An entry of another size (token_embd's) is not used, as llama-quantize skips it.
    const entry = p.convert ? s.imatrix?.get(t.name) : undefined;
    const weights = entry?.length === rowLength * (t.dims[2] ?? 1) ? entry : undefined;
    const check = await s.converter.convert(
      {
        source: t.type,
        target: p.convert ? p.type : undefined,
        input: raw,
        output: out,
        imatrix:
          weights === undefined
            ? undefined
            : { weights, rowLength, rowsPerExpert: t.dims[1] ?? 1, firstRow: row },
      },
      n,
    );
    if (check.invalidInput >= 0) {
      const unit = source.blockSize === 1 ? "element" : "block";
      throw bad(
        `has invalid data: NaN or infinity at ${unit} ${(row * rowBytes) / source.typeSize + check.invalidInput} (llama-quantize refuses it too)`,
      );
    }
    if (check.invalidOutput >= 0) {
      const unit = target.blockSize === 1 ? "element" : "block";
      throw bad(
        `its values do not fit ${target.name}: ${unit} ${(row * outRowBytes) / target.typeSize + check.invalidOutput} becomes infinite (llama-quantize fails its validation the same way)`,
      );
    }
    yield out ?? raw;
    s.advance(raw.length);
  }
}

function countTypes(tensors: readonly TensorPlan[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of tensors) {
    const name = GGML_TYPES.get(p.type)?.name ?? String(p.type);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [sa, sb] = await Promise.all([stat(a).catch(() => null), stat(b).catch(() => null)]);
  return sa !== null && sb !== null && sa.dev === sb.dev && sa.ino === sb.ino;
}

function destinationError(error: unknown, output: string): unknown {
  if (error instanceof QbenchError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined || !DESTINATION_ERRORS.has(code)) return error;
  return new InputError("BAD_INPUT", `cannot write the output file: ${messageOf(error)}`, {
    location: output,
    cause: error,
  });
}

/**
 * `llama-quantize [--pure] [--imatrix f] [--tensor-type p=t] <input> <output> <TYPE>`, byte for byte, one slab of one tensor in memory
 * at a time. The output appears only when complete (temporary name, then rename); on any error
 * nothing is left behind.
 */
export async function quantizeGguf(options: QuantizeOptions): Promise<QuantizeResult> {
  const started = performance.now();
  const { input, output, target } = options;
  if (await sameFile(input, output)) {
    throw new InputError("BAD_USAGE", `input and output are the same file: ${input}`);
  }
  const file = await readGguf(input);
  const plan = planQuantization(file, target, {
    allowRequantize: options.allowRequantize ?? false,
    pure: options.pure ?? !mixesByDefault(target),
    overrides: options.tensorTypes ?? [],
    imatrix: options.imatrix,
    outputTensorType: options.outputTensorType,
    tokenEmbeddingType: options.tokenEmbeddingType,
    leaveOutputTensor: options.leaveOutputTensor,
  });
  const imatrix = options.imatrix?.data.entries;
  const imatrixMissing =
    imatrix === undefined ? [] : checkImatrix(plan.tensors, imatrix, options.imatrix?.path ?? "");
  const bytesTotal = file.tensors.reduce((sum, t) => sum + t.byteSize, 0);
  let bytesDone = 0;
  let tensorsDone = 0;
  const threads =
    options.threads ??
    (bytesTotal >= PARALLEL_MIN_BYTES ? Math.min(availableParallelism(), MAX_DEFAULT_THREADS) : 1);
  const converter = new SlabConverter(threads);
  const shared = converter.parallel;
  const fh = await open(input, "r").catch(async (error: unknown) => {
    await converter.close();
    throw error;
  });
  const streams: Streams = {
    fh,
    file,
    slabBytes: options.slabBytes ?? DEFAULT_SLAB_BYTES,
    inputs: [new Scratch(shared), new Scratch(shared)],
    output: new Scratch(shared),
    converter,
    imatrix,
    advance: (bytes) => {
      bytesDone += bytes;
      options.onProgress?.({
        tensorsDone,
        tensorCount: plan.tensors.length,
        bytesDone,
        bytesTotal,
        elapsedMs: performance.now() - started,
      });
    },
  };
  async function* counted(p: TensorPlan): AsyncGenerator<Uint8Array> {
    yield* tensorData(streams, p);
    tensorsDone += 1;
    streams.advance(0);
  }
  try {
    await writeGguf(output, {
      version: 3,
      metadata: plan.metadata,
      tensors: plan.tensors.map((p) => ({
        name: p.tensor.name,
        dims: p.dims,
        type: p.type,
        data: counted(p),
      })),
    });
  } catch (error) {
    throw destinationError(error, output);
  } finally {
    await Promise.all([fh.close(), converter.close()]);
  }
  const converted = countTypes(plan.tensors.filter((p) => p.convert));
  return {
    input,
    output,
    target: target.name,
    tensorCount: plan.tensors.length,
    converted,
    copied: plan.tensors.filter((p) => !p.convert).length,
    fallbacks: plan.tensors.filter((p) => p.fallback).map((p) => p.tensor.name),
    fallbackTypes: countTypes(plan.tensors.filter((p) => p.fallback)),
    imatrixMissing,
    inputBytes: file.fileSize,
    outputBytes: (await stat(output)).size,
    seconds: (performance.now() - started) / 1000,
  };
}
