/**
 * A GGUF Llama model as the kernels need it: hyperparameters from the metadata (llama.cpp's
 * defaults where a key is absent) and the tensors each layer uses, checked before any upload.
 */
import {
  findNumber,
  findString,
  type GgufFile,
  type GgufTensorInfo,
  getNumber,
  getString,
} from "../../lib/gguf/reader.js";

import { rowMultiple, WEIGHT_TYPES, type WeightType } from "./weight-layout.js";

export { WEIGHT_TYPES, type WeightType };

export interface LlamaConfig {
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  /** Dimensions RoPE rotates per head (llama.rope.dimension_count). */
  nRot: number;
  ropeBase: number;
  /** Linear RoPE scaling as llama.cpp's freq_scale (1 / factor). */
  ropeFreqScale: number;
  eps: number;
  nCtxTrain: number;
  nVocab: number;
}

export interface LayerTensors {
  attnNorm: GgufTensorInfo;
  q: GgufTensorInfo;
  k: GgufTensorInfo;
  v: GgufTensorInfo;
  o: GgufTensorInfo;
  ffnNorm: GgufTensorInfo;
  gate: GgufTensorInfo;
  up: GgufTensorInfo;
  down: GgufTensorInfo;
}

export interface LlamaModel {
  config: LlamaConfig;
  embedding: GgufTensorInfo;
  outputNorm: GgufTensorInfo;
  /** The output projection; token_embd.weight when the file ties them. */
  output: GgufTensorInfo;
  tiedOutput: boolean;
  /** Llama 3's per-dimension RoPE frequency factors, when the file has them. */
  ropeFreqs: GgufTensorInfo | undefined;
  layers: LayerTensors[];
}

/**
 * A model the kernels cannot run; the runner answers with the message and `code`: BAD_MODEL for
 * a graph it does not know, UNSUPPORTED for a tensor type (or row length) its shaders do not read.
 */
export class UnsupportedModelError extends Error {
  readonly code: "BAD_MODEL" | "UNSUPPORTED";
  constructor(message: string, code: "BAD_MODEL" | "UNSUPPORTED" = "BAD_MODEL") {
    super(message);
    this.code = code;
  }
}

function ropeFreqScale(file: GgufFile, arch: string): number {
  const type = findString(file, `${arch}.rope.scaling.type`) ?? "none";
  if (type === "none") {
    const legacy = findNumber(file, `${arch}.rope.scale_linear`);
    return legacy ? 1 / legacy : 1;
  }
  if (type !== "linear") {
    throw new UnsupportedModelError(`RoPE scaling "${type}" is not supported (none, linear)`);
  }
  const factor = findNumber(file, `${arch}.rope.scaling.factor`) ?? 1;
  return factor > 0 ? 1 / factor : 1;
}

function readConfig(file: GgufFile, arch: string, nVocab: number): LlamaConfig {
  const nEmbd = getNumber(file, `${arch}.embedding_length`);
  const nHead = getNumber(file, `${arch}.attention.head_count`);
  const headDim = findNumber(file, `${arch}.attention.key_length`) ?? nEmbd / nHead;
  const valueDim = findNumber(file, `${arch}.attention.value_length`) ?? headDim;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0 || valueDim !== headDim) {
    throw new UnsupportedModelError(
      `head dimension ${headDim} (values ${valueDim}) must be even and equal for keys and values`,
    );
  }
  const nHeadKv = findNumber(file, `${arch}.attention.head_count_kv`) ?? nHead;
  if (nHead % nHeadKv !== 0) {
    throw new UnsupportedModelError(`${nHead} heads do not split over ${nHeadKv} KV heads`);
  }
  const nRot = findNumber(file, `${arch}.rope.dimension_count`) ?? headDim;
  if (nRot % 2 !== 0 || nRot > headDim) {
    throw new UnsupportedModelError(`RoPE dimension count ${nRot} must be even and ≤ ${headDim}`);
  }
  return {
    nLayer: getNumber(file, `${arch}.block_count`),
    nEmbd,
    nFf: getNumber(file, `${arch}.feed_forward_length`),
    nHead,
    nHeadKv,
    headDim,
    nRot,
    ropeBase: findNumber(file, `${arch}.rope.freq_base`) ?? 10000,
    ropeFreqScale: ropeFreqScale(file, arch),
    eps: findNumber(file, `${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-5,
    nCtxTrain: findNumber(file, `${arch}.context_length`) ?? 2048,
    nVocab,
  };
}

/** Checks a tensor's shape (ggml order: row length first) and that the shaders read its type. */
function expectTensor(
  byName: Map<string, GgufTensorInfo>,
  name: string,
  dims: number[],
  types: readonly string[],
): GgufTensorInfo {
  const tensor = byName.get(name);
  if (!tensor) throw new UnsupportedModelError(`tensor ${name} is missing`);
  const same = tensor.dims.length === dims.length && tensor.dims.every((d, i) => d === dims[i]);
  if (!same) {
    throw new UnsupportedModelError(
      `tensor ${name} has shape [${tensor.dims}], expected [${dims}]`,
    );
  }
  if (!types.includes(tensor.typeName)) {
    throw new UnsupportedModelError(
      `tensor ${name} is ${tensor.typeName}; the WebGPU runner reads ${types.join(", ")} there`,
      "UNSUPPORTED",
    );
  }
  const multiple = rowMultiple(tensor.typeName as WeightType);
  if (dims.length === 2 && (dims[0] as number) % multiple !== 0) {
    throw new UnsupportedModelError(
      `tensor ${name} (${tensor.typeName}): row length ${dims[0]} is not a multiple of ${multiple}`,
      "UNSUPPORTED",
    );
  }
  return tensor;
}

/** Reads the Llama graph out of a parsed GGUF file, or says why the runner cannot run it. */
export function describeLlama(file: GgufFile): LlamaModel {
  const arch = getString(file, "general.architecture");
  if (arch !== "llama") {
    throw new UnsupportedModelError(`architecture "${arch}" is not supported (llama)`);
  }
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const embd = byName.get("token_embd.weight");
  if (embd?.dims.length !== 2) {
    throw new UnsupportedModelError("tensor token_embd.weight is missing or not 2-D");
  }
  const [nEmbdFile, nVocab] = embd.dims as [number, number];
  const config = readConfig(file, arch, nVocab);
  if (nEmbdFile !== config.nEmbd) {
    throw new UnsupportedModelError(`token_embd.weight rows are ${nEmbdFile}, not ${config.nEmbd}`);
  }
  const { nEmbd, nFf, nHead, nHeadKv, headDim } = config;
  const mat = (name: string, k: number, m: number) =>
    expectTensor(byName, name, [k, m], WEIGHT_TYPES);
  const norm = (name: string, n: number) => expectTensor(byName, name, [n], ["F32"]);
  const layers: LayerTensors[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    const p = `blk.${i}.`;
    layers.push({
      attnNorm: norm(`${p}attn_norm.weight`, nEmbd),
      q: mat(`${p}attn_q.weight`, nEmbd, nHead * headDim),
      k: mat(`${p}attn_k.weight`, nEmbd, nHeadKv * headDim),
      v: mat(`${p}attn_v.weight`, nEmbd, nHeadKv * headDim),
      o: mat(`${p}attn_output.weight`, nHead * headDim, nEmbd),
      ffnNorm: norm(`${p}ffn_norm.weight`, nEmbd),
      gate: mat(`${p}ffn_gate.weight`, nEmbd, nFf),
      up: mat(`${p}ffn_up.weight`, nEmbd, nFf),
      down: mat(`${p}ffn_down.weight`, nFf, nEmbd),
    });
  }
  const tiedOutput = !byName.has("output.weight");
  return {
    config,
    embedding: mat("token_embd.weight", nEmbd, nVocab),
    outputNorm: norm("output_norm.weight", nEmbd),
    output: tiedOutput ? embd : mat("output.weight", nEmbd, nVocab),
    tiedOutput,
    ropeFreqs: byName.has("rope_freqs.weight")
      ? expectTensor(byName, "rope_freqs.weight", [config.nRot / 2], ["F32"])
      : undefined,
    layers,
  };
}
