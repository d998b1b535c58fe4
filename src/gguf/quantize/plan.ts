import { GGML_TYPES } from "../../../lib/gguf/ggml-types.js";
import type { GgufFile, GgufTensorInfo, GgufValue } from "../../../lib/gguf/reader.js";
import { InputError } from "../../errors.js";
import { ggufValue } from "../writer.js";
import { FORMATS, type QuantizeTarget } from "./formats.js";
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
  /** True when the row length forced F16 instead of the target (llama.cpp's shape fall-back). */
  fallback: boolean;
}

export interface QuantizePlan {
  /** In llama-quantize's output order. */
  tensors: TensorPlan[];
  metadata: Map<string, GgufValue>;
}

function typeName(id: number): string {
  return GGML_TYPES.get(id)?.name ?? `type ${id}`;
}

/** The type llama_tensor_get_type picks with --pure, and whether the shape forced the F16 fall-back. */
function chooseType(
  t: GgufTensorInfo,
  target: QuantizeTarget,
): { type: number; fallback: boolean } {
  if (!allowsQuantization(t.name, t.dims)) return { type: t.type, fallback: false };
  const format = target.format;
  const quantized = GGML_TYPES.get(format.type)?.quantized ?? false;
  // tensor_type_fallback: a 32-element block type has nothing smaller to fall to, so F16.
  if (quantized && (t.dims[0] ?? 1) % format.blockSize !== 0) return { type: 1, fallback: true };
  return { type: format.type, fallback: false };
}

/** llama-quantize's metadata: the input's keys in order, split keys dropped, version and file type re-set last. */
function outputMetadata(file: GgufFile, target: QuantizeTarget): Map<string, GgufValue> {
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
  return metadata;
}

/** Decides every tensor's output type and refuses, before anything is written, what llama-quantize would refuse. */
export function planQuantization(
  file: GgufFile,
  target: QuantizeTarget,
  allowRequantize: boolean,
): QuantizePlan {
  const fail = (message: string) => new InputError("BAD_MODEL", message, { location: file.path });
  const splits = file.metadata.get("split.count");
  if (splits !== undefined && splits.type !== "array" && Number(splits.value) > 1) {
    throw fail(
      `is one of ${splits.value} split GGUF files; merge them first (llama-gguf-split --merge)`,
    );
  }
  const tensors = [...file.tensors]
    .sort((a, b) => compareTensorNames(a.name, b.name))
    .map((tensor): TensorPlan => {
      const { type, fallback } = chooseType(tensor, target);
      const convert = type !== tensor.type;
      if (convert) {
        const from = GGML_TYPES.get(tensor.type);
        if (!FORMATS.has(tensor.type)) {
          throw fail(
            `tensor ${tensor.name} is ${typeName(tensor.type)}, which qbench cannot convert to ${typeName(type)} (it reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1)`,
          );
        }
        if (from?.quantized && !allowRequantize) {
          throw fail(
            `tensor ${tensor.name} is already ${from.name}; re-quantizing it to ${typeName(type)} loses quality, so it is refused unless you pass --allow-requantize (as llama-quantize does)`,
          );
        }
      }
      return { tensor, dims: trimDims(tensor.dims), type, convert, fallback };
    });
  return { tensors, metadata: outputMetadata(file, target) };
}
