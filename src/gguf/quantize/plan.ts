import { GGML_TYPES } from "../../../lib/gguf/ggml-types.js";
import type { GgufFile, GgufTensorInfo, GgufValue } from "../../../lib/gguf/reader.js";
import { InputError } from "../../errors.js";
import { ggufValue } from "../writer.js";
import { FORMATS, type QuantizeTarget } from "./formats.js";
import type { Imatrix } from "./imatrix.js";
import { FT, MixChooser, type MixModel, T, type TensorTypeOverride } from "./mix.js";
import { allowsQuantization, compareTensorNames, trimDims } from "./tensor-rules.js";

/** ggml.h GGML_QNT_VERSION, which llama-quantize stamps into general.quantization_version. */
export const GGML_QNT_VERSION = 2;

export interface TensorPlan {
  tensor: GgufTensorInfo;
  /** The shape as the output stores it (trailing 1s dropped, as ggml_n_dims does). */
  dims: number[];
  /** ggml type id in the output. */
  type: number;
  /** True when the data is converted; false when it is copied as it is. */
  convert: boolean;
  /** True when the row length forced another type than the mix chose (llama.cpp's tensor_type_fallback). */
  fallback: boolean;
}

/** How llama-quantize is asked to choose the types. */
export interface MixRequest {
  /** Dequantize and quantize again tensors that are already quantized (--allow-requantize). */
  allowRequantize: boolean;
  /** Every quantizable tensor gets the target type (--pure); else llama-quantize's default mix. */
  pure: boolean;
  /** --tensor-type overrides, in the order given. */
  overrides: readonly TensorTypeOverride[];
  /** The imatrix, if any: some mixes depend on it, and llama-quantize records it in the metadata. */
  imatrix?: { path: string; data: Imatrix } | undefined;
  /** --output-tensor-type: output.weight's type, whatever the mix or --pure (ggml type id). */
  outputTensorType?: number | undefined;
  /** --token-embedding-type: token_embd's type, whatever the mix or --pure (ggml type id). */
  tokenEmbeddingType?: number | undefined;
  /** --leave-output-tensor: output.weight is copied as it is. */
  leaveOutputTensor?: boolean | undefined;
}

export interface QuantizePlan {
  /** In llama-quantize's output order. */
  tensors: TensorPlan[];
  metadata: Map<string, GgufValue>;
}

function typeName(id: number): string {
  return GGML_TYPES.get(id)?.name ?? `type ${id}`;
}

/** A numeric key, or the first element of a per-layer array (llama.cpp's get_key_or_arr for layer 0). */
function metaNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key);
  if (v === undefined || v.type === "bool" || v.type === "string") return undefined;
  if (v.type !== "array") return Number(v.value);
  const first = v.items[0];
  return typeof first === "number" || typeof first === "bigint" ? Number(first) : undefined;
}

/** The hparams llama_tensor_get_type_impl reads, from the file's metadata as llama.cpp's loader reads them. */
export function mixModel(file: GgufFile): MixModel {
  const archValue = file.metadata.get("general.architecture");
  const arch = archValue?.type === "string" ? archValue.value : "";
  const nHead = metaNumber(file, `${arch}.attention.head_count`) ?? 0;
  const nHeadKv = metaNumber(file, `${arch}.attention.head_count_kv`) ?? nHead;
  const nLayer = metaNumber(file, `${arch}.block_count`) ?? 0;
  const nExpert = metaNumber(file, `${arch}.expert_count`) ?? 0;
  return {
    arch,
    nGqa: nHeadKv === 0 ? 0 : Math.trunc(nHead / nHeadKv),
    nExpert,
    nLayer,
    // src/models/llama.cpp: 80 layers is 70B when the KV heads are grouped (65B otherwise).
    is70B: arch === "llama" && nExpert !== 8 && nLayer === 80 && nHead !== nHeadKv,
  };
}

/** llama-quantize's metadata: the input's keys in order, split keys dropped, version and file type re-set last. */
function outputMetadata(
  file: GgufFile,
  target: QuantizeTarget,
  imatrix: MixRequest["imatrix"],
): Map<string, GgufValue> {
  const metadata = new Map(file.metadata);
  for (const key of [
    "general.quantization_version",
    "general.file_type",
    "split.no",
    "split.count",
    "split.tensors.count",
  ]) {
    metadata.delete(key);
  }
  metadata.set("general.quantization_version", ggufValue.uint32(GGML_QNT_VERSION));
  metadata.set("general.file_type", ggufValue.uint32(target.fileType));
  if (imatrix !== undefined) {
    // llama-quantize's kv overrides: strings cut to 127 bytes (strncpy into val_str[128]).
    const cut = (text: string) => Buffer.from(text, "utf8").subarray(0, 127).toString("utf8");
    const set = (key: string, value: GgufValue) => {
      metadata.delete(key);
      metadata.set(key, value);
    };
    set("quantize.imatrix.file", ggufValue.string(cut(imatrix.path)));
    const dataset = imatrix.data.datasets[0];
    if (dataset !== undefined) set("quantize.imatrix.dataset", ggufValue.string(cut(dataset)));
    set("quantize.imatrix.entries_count", ggufValue.uint32(imatrix.data.entries.size));
    if (imatrix.data.chunkCount > 0) {
      set("quantize.imatrix.chunks_count", ggufValue.uint32(imatrix.data.chunkCount));
    }
  }
  return metadata;
}

/** tensor_requires_imatrix: Q2_K in a Q2_K_S file (token_embd and output.weight aside) needs importance weights. */
function requireImatrix(
  name: string,
  type: number,
  target: QuantizeTarget,
  request: MixRequest,
  fail: (message: string) => Error,
): void {
  const exempt =
    name === "token_embd.weight" ||
    name === "per_layer_token_embd.weight" ||
    name === "output.weight";
  if (exempt || type !== T.Q2_K || target.fileType !== FT.Q2_K_S) return;
  if (request.imatrix === undefined) {
    throw fail(
      `${target.name} needs an importance matrix (--imatrix): tensor ${name} becomes Q2_K, whose ${target.name} quality depends on it (llama-quantize refuses it too)`,
    );
  }
  if (!request.imatrix.data.entries.has(name)) {
    throw fail(
      `the imatrix ${request.imatrix.path} has no entry for tensor ${name}, which becomes Q2_K in a ${target.name} file (llama-quantize: "missing importance matrix … in a very low-bit quantization")`,
    );
  }
}

/** Decides every tensor's output type and refuses, before anything is written, what llama-quantize would refuse. */
export function planQuantization(
  file: GgufFile,
  target: QuantizeTarget,
  request: MixRequest,
): QuantizePlan {
  const { allowRequantize } = request;
  const fail = (message: string) => new InputError("BAD_MODEL", message, { location: file.path });
  const splits = file.metadata.get("split.count");
  if (splits !== undefined && splits.type !== "array" && Number(splits.value) > 1) {
    throw fail(
      `is one of ${splits.value} split GGUF files; merge them first (llama-gguf-split --merge)`,
    );
  }
  const sorted = [...file.tensors].sort((a, b) => compareTensorNames(a.name, b.name));
  const chooser = new MixChooser(
    mixModel(file),
    {
      ftype: target.fileType,
      defaultType: target.format.type,
      pure: request.pure,
      hasImatrix: request.imatrix !== undefined,
      overrides: request.overrides,
      outputTensorType: request.outputTensorType,
      tokenEmbeddingType: request.tokenEmbeddingType,
    },
    sorted.map((t) => t.name),
  );
  const tensors = sorted.map((tensor): TensorPlan => {
    const quantizable =
      allowsQuantization(tensor.name, tensor.dims) &&
      !(request.leaveOutputTensor === true && tensor.name === "output.weight");
    const choice = quantizable ? chooser.choose(tensor.name, tensor.dims[0] ?? 1) : undefined;
    const type = choice?.type ?? tensor.type;
    const fallback = choice?.fallback ?? false;
    const convert = type !== tensor.type;
    if (convert) {
      const from = GGML_TYPES.get(tensor.type);
      if (!FORMATS.has(tensor.type)) {
        throw fail(
          `tensor ${tensor.name} is ${typeName(tensor.type)}, which qbench cannot convert to ${typeName(type)} (it reads ${[...FORMATS.values()].map((f) => f.name).join(", ")})`,
        );
      }
      if (from?.quantized && !allowRequantize) {
        throw fail(
          `tensor ${tensor.name} is already ${from.name}; re-quantizing it to ${typeName(type)} loses quality, so it is refused unless you pass --allow-requantize (as llama-quantize does)`,
        );
      }
      // --output-tensor-type and --token-embedding-type have no fall-back (llama-quantize aborts).
      const block = GGML_TYPES.get(type)?.blockSize ?? 1;
      if ((tensor.dims[0] ?? 1) % block !== 0) {
        throw fail(
          `tensor ${tensor.name} has rows of ${tensor.dims[0]} values, not a multiple of ${typeName(type)}'s blocks of ${block}`,
        );
      }
      requireImatrix(tensor.name, type, target, request, fail);
    }
    return { tensor, dims: trimDims(tensor.dims), type, convert, fallback };
  });
  return { tensors, metadata: outputMetadata(file, target, request.imatrix) };
}
