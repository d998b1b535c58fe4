import { GGML_TYPES } from "../../lib/gguf/ggml-types.js";
import type { GgufFile } from "../../lib/gguf/reader.js";
import { fallbackType, tensorCategory } from "../gguf/quantize/mix.js";
import { allowsQuantization, compareTensorNames } from "../gguf/quantize/tensor-rules.js";

/** How tensors are grouped: one group per layer, per tensor, or per role across layers. */
export const GROUPINGS = ["layer", "tensor", "role"] as const;
export type Grouping = (typeof GROUPINGS)[number];

/** One tensor llama-quantize would convert, with where it sits in the model. */
export interface QuantizableTensor {
  name: string;
  /** `blk.N`'s N, or undefined for tensors outside the layers (token_embd, output). */
  layer: number | undefined;
  /** The role: llama-quantize's category (attn_v, ffn_down, …), or the name without `blk.N.` for others. */
  role: string;
  type: number;
  /** Row length (dims[0]): decides the fall-back type of a block format. */
  rowLength: number;
  elements: number;
}

/** Tensors quantized together: one row of the sensitivity table. */
export interface TensorGroup {
  /** `blk.3`, `attn_v`, `blk.3.attn_v.weight`, `token_embd.weight`, … */
  name: string;
  /** The layer the group is, or lies in; undefined when it spans layers or lies outside them. */
  layer: number | undefined;
  /** The role the group is, or its tensors share; undefined when a layer group mixes roles. */
  role: string | undefined;
  tensors: QuantizableTensor[];
}

function layerOf(name: string): number | undefined {
  const match = /^blk\.(\d+)\./.exec(name);
  return match ? Number(match[1]) : undefined;
}

function roleOf(name: string): string {
  const category = tensorCategory(name);
  if (category !== "other") return category;
  return name.replace(/^blk\.\d+\./, "").replace(/\.weight$/, "");
}

/** The tensors llama-quantize converts (tensor_allows_quantization), in its order. */
export function quantizableTensors(file: GgufFile): QuantizableTensor[] {
  return file.tensors
    .filter((t) => allowsQuantization(t.name, t.dims))
    .sort((a, b) => compareTensorNames(a.name, b.name))
    .map((t) => ({
      name: t.name,
      layer: layerOf(t.name),
      role: roleOf(t.name),
      type: t.type,
      rowLength: t.dims[0] ?? 1,
      elements: t.elementCount,
    }));
}

/**
 * The groups of `--by`: a layer's quantizable tensors (tensors outside the layers are a group
 * each), each tensor alone, or one role (attn_v, ffn_down, …) across every layer.
 */
export function groupTensors(tensors: readonly QuantizableTensor[], by: Grouping): TensorGroup[] {
  const groups = new Map<string, TensorGroup>();
  for (const t of tensors) {
    const key =
      by === "tensor"
        ? t.name
        : by === "role"
          ? t.role
          : t.layer === undefined
            ? t.name
            : `blk.${t.layer}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        name: key,
        layer: by === "role" ? undefined : t.layer,
        role: by === "layer" && t.layer !== undefined ? undefined : t.role,
        tensors: [],
      };
      groups.set(key, group);
    }
    group.tensors.push(t);
  }
  return [...groups.values()];
}

/** The type a tensor really gets when asked for `type`: llama.cpp's fall-back for rows that do not fit its blocks. */
export function effectiveType(tensor: QuantizableTensor, type: number): number {
  return fallbackType(tensor.rowLength, type);
}

/** Bytes of a tensor's data in `type` (after the fall-back). */
export function tensorBytes(tensor: QuantizableTensor, type: number): number {
  const info = GGML_TYPES.get(effectiveType(tensor, type));
  if (!info) throw new Error(`unreachable: unknown ggml type ${type}`);
  return (tensor.elements / info.blockSize) * info.typeSize;
}

/** Bytes of a group's data with every tensor in `type`. */
export function groupBytes(group: TensorGroup, type: number): number {
  return group.tensors.reduce((sum, t) => sum + tensorBytes(t, type), 0);
}

export function typeName(type: number): string {
  return GGML_TYPES.get(type)?.name ?? `type ${type}`;
}
