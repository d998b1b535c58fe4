/**
 * A GGUF decoder-only model as the kernels need it: hyperparameters from the metadata (llama.cpp's
 * defaults where a key is absent) and the tensors each layer uses, checked before any upload.
 * What differs between the architectures it reads is in architectures.ts.
 */
import {
  findNumber,
  findString,
  type GgufFile,
  type GgufTensorInfo,
  getNumber,
  getString,
} from "../../lib/gguf/reader.js";
import {
  type ArchTraits,
  archTraits,
  checkArchitecture,
  UnsupportedModelError,
} from "./architectures.js";
import { rowMultiple, WEIGHT_TYPES, type WeightType } from "./weight-layout.js";

export { UnsupportedModelError, WEIGHT_TYPES, type WeightType };

export interface LlamaConfig extends ArchTraits {
  /** GGUF general.architecture. */
  arch: string;
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  /** Dimensions RoPE rotates per head (<arch>.rope.dimension_count). */
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
  /** Q, K and V: the same attn_qkv tensor when the file fuses them (see qkvRow0). */
  q: GgufTensorInfo;
  k: GgufTensorInfo;
  v: GgufTensorInfo;
  /** First row of Q, K and V in their tensors: [0, 0, 0], or [0, qDim, qDim + kvDim] fused. */
  qkvRow0: [number, number, number];
  /** attn_q/k/v.bias (qwen2), added before RoPE. */
  bias?: { q: GgufTensorInfo; k: GgufTensorInfo; v: GgufTensorInfo };
  /** Per-head RMSNorm of Q and K before RoPE (qwen3's attn_q_norm / attn_k_norm). */
  qNorm?: GgufTensorInfo;
  kNorm?: GgufTensorInfo;
  o: GgufTensorInfo;
  /** RMSNorm of the attention output before the residual add (gemma2). */
  postAttnNorm?: GgufTensorInfo;
  ffnNorm: GgufTensorInfo;
  /** Gate and up: the same ffn_up tensor when fused (phi3), gate rows first (see upRow0). */
  gate: GgufTensorInfo;
  up: GgufTensorInfo;
  upRow0: number;
  down: GgufTensorInfo;
  /** RMSNorm of the FFN output before the residual add (gemma2). */
  postFfnNorm?: GgufTensorInfo;
  /** Whether this layer attends over a sliding window (config.slidingWindow). */
  swa: boolean;
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
  const nLayer = getNumber(file, `${arch}.block_count`);
  const ropeBase = findNumber(file, `${arch}.rope.freq_base`) ?? 10000;
  const base = {
    arch,
    nLayer,
    nEmbd,
    nFf: getNumber(file, `${arch}.feed_forward_length`),
    nHead,
    nHeadKv,
    headDim,
    nRot,
    ropeBase,
    ropeFreqScale: ropeFreqScale(file, arch),
    eps: findNumber(file, `${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-5,
    nCtxTrain: findNumber(file, `${arch}.context_length`) ?? 2048,
    nVocab,
  };
  return { ...base, ...archTraits(file, arch, base) };
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

/** Reads one layer's tensors, fused or separate as the file has them. */
function readLayer(
  i: number,
  c: LlamaConfig,
  has: (name: string) => boolean,
  mat: (name: string, k: number, m: number) => GgufTensorInfo,
  vec: (name: string, n: number) => GgufTensorInfo,
): LayerTensors {
  const p = `blk.${i}.`;
  const { nEmbd, nFf } = c;
  const qDim = c.nHead * c.headDim;
  const kvDim = c.nHeadKv * c.headDim;
  let qkv: Pick<LayerTensors, "q" | "k" | "v" | "qkvRow0">;
  if (has(`${p}attn_qkv.weight`)) {
    const fused = mat(`${p}attn_qkv.weight`, nEmbd, qDim + 2 * kvDim);
    qkv = { q: fused, k: fused, v: fused, qkvRow0: [0, qDim, qDim + kvDim] };
  } else {
    qkv = {
      q: mat(`${p}attn_q.weight`, nEmbd, qDim),
      k: mat(`${p}attn_k.weight`, nEmbd, kvDim),
      v: mat(`${p}attn_v.weight`, nEmbd, kvDim),
      qkvRow0: [0, 0, 0],
    };
  }
  const biasNames = ["attn_q.bias", "attn_k.bias", "attn_v.bias"].map((n) => p + n);
  let bias: LayerTensors["bias"];
  if (biasNames.some(has)) {
    const [bq, bk, bv] = biasNames as [string, string, string];
    bias = { q: vec(bq, qDim), k: vec(bk, kvDim), v: vec(bv, kvDim) };
  }
  const fusedUp = !has(`${p}ffn_gate.weight`) && c.fusedGateUp;
  const up = fusedUp
    ? mat(`${p}ffn_up.weight`, nEmbd, 2 * nFf)
    : mat(`${p}ffn_up.weight`, nEmbd, nFf);
  return {
    attnNorm: vec(`${p}attn_norm.weight`, nEmbd),
    ...qkv,
    bias,
    qNorm: c.qkNorm ? vec(`${p}attn_q_norm.weight`, c.headDim) : undefined,
    kNorm: c.qkNorm ? vec(`${p}attn_k_norm.weight`, c.headDim) : undefined,
    o: mat(`${p}attn_output.weight`, qDim, nEmbd),
    postAttnNorm: c.postNorms ? vec(`${p}post_attention_norm.weight`, nEmbd) : undefined,
    ffnNorm: vec(`${p}ffn_norm.weight`, nEmbd),
    gate: fusedUp ? up : mat(`${p}ffn_gate.weight`, nEmbd, nFf),
    up,
    upRow0: fusedUp ? nFf : 0,
    down: mat(`${p}ffn_down.weight`, nFf, nEmbd),
    postFfnNorm: c.postNorms ? vec(`${p}post_ffw_norm.weight`, nEmbd) : undefined,
    swa: c.swaLayers[i] ?? false,
  };
}

/** Every tensor a model's graph reads (the tied output once). */
export function modelTensors(model: LlamaModel): GgufTensorInfo[] {
  const layerTensors = model.layers.flatMap((l) => [
    l.attnNorm,
    l.q,
    l.k,
    l.v,
    ...(l.bias ? [l.bias.q, l.bias.k, l.bias.v] : []),
    ...[l.qNorm, l.kNorm, l.postAttnNorm, l.postFfnNorm].filter((t) => t !== undefined),
    l.o,
    l.ffnNorm,
    l.gate,
    l.up,
    l.down,
  ]);
  const all = [model.embedding, model.outputNorm, model.output, ...layerTensors];
  if (model.ropeFreqs) all.push(model.ropeFreqs);
  return [...new Set(all)];
}

/** Reads the graph out of a parsed GGUF file, or says why the runner cannot run it. */
export function describeModel(file: GgufFile): LlamaModel {
  const arch = getString(file, "general.architecture");
  checkArchitecture(arch);
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
  const { nEmbd } = config;
  const mat = (name: string, k: number, m: number) =>
    expectTensor(byName, name, [k, m], WEIGHT_TYPES);
  const vec = (name: string, n: number) => expectTensor(byName, name, [n], ["F32"]);
  const has = (name: string) => byName.has(name);
  const layers = Array.from({ length: config.nLayer }, (_, i) =>
    readLayer(i, config, has, mat, vec),
  );
  // Gemma's graph always projects with token_embd (llama.cpp ignores an output.weight there).
  const tiedOutput = config.tiedOutputAlways || !byName.has("output.weight");
  const model: LlamaModel = {
    config,
    embedding: mat("token_embd.weight", nEmbd, nVocab),
    outputNorm: vec("output_norm.weight", nEmbd),
    output: tiedOutput ? embd : mat("output.weight", nEmbd, nVocab),
    tiedOutput,
    ropeFreqs:
      config.ropeFactors && byName.has("rope_freqs.weight")
        ? expectTensor(byName, "rope_freqs.weight", [config.nRot / 2], ["F32"])
        : undefined,
    layers,
  };
  // As llama.cpp's loader does: a tensor the graph does not read means a graph we do not know.
  const used = new Set(modelTensors(model).map((t) => t.name));
  const unused = file.tensors.find((t) => !used.has(t.name));
  if (unused) {
    throw new UnsupportedModelError(
      `tensor ${unused.name} is not part of the ${arch} graph the WebGPU runner runs`,
      "UNSUPPORTED",
    );
  }
  return model;
}
