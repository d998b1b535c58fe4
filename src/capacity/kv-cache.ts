/**
 * The KV cache llama.cpp allocates, from a GGUF's hyper-parameters: cells × layers × (K row + V
 * row), each row `head dim × KV heads` elements of the cache's type (llama-kv-cache.cpp,
 * llama-kv-cache-iswa.cpp, llama-hparams.cpp `n_embd_k_gqa`). Sliding-window layers hold only
 * the window (plus one micro-batch), padded to 256 cells.
 */

import { type GgmlType, ggmlTypeByName } from "../../lib/gguf/ggml-types.js";
import { findNumber, findString, type GgufFile, getNumber } from "../../lib/gguf/reader.js";
import { InputError } from "../errors.js";

/** Cache element types llama.cpp accepts for `--cache-type-k/-v` (common/arg.cpp `kv_cache_types`). */
export const KV_CACHE_TYPES = [
  "f32",
  "f16",
  "bf16",
  "q8_0",
  "q4_0",
  "q4_1",
  "iq4_nl",
  "q5_0",
  "q5_1",
] as const;
export type KvCacheType = (typeof KV_CACHE_TYPES)[number];

export interface KvLayer {
  /** Elements of one head's key (`n_embd_head_k`) and value (`n_embd_head_v`). */
  headK: number;
  headV: number;
  /** Elements of one cell's K row (`n_embd_k_gqa`). */
  k: number;
  /** Elements of one cell's V row (`n_embd_v_gqa`). */
  v: number;
  /** Whether the layer attends over a sliding window only. */
  swa: boolean;
}

export interface KvShape {
  architecture: string;
  layers: KvLayer[];
  /** The sliding window in tokens (0: none). */
  window: number;
  /** Set when the file has a window this model of the cache does not know how to apply. */
  unmodelled?: string;
}

// llama.cpp's default window-layer patterns (src/models/<arch>.cpp `load_swa_pattern(ml, N)`):
// layer il slides when il % N < N - 1.
const SWA_PATTERN: Readonly<Record<string, { pattern: number; defaultWindow: number }>> = {
  gemma2: { pattern: 2, defaultWindow: 4096 },
  gemma3: { pattern: 6, defaultWindow: 0 },
};

function perLayer(file: GgufFile, key: string, layers: number): number[] | undefined {
  const v = file.metadata.get(key);
  if (v === undefined) return undefined;
  if (v.type === "array") {
    const items = Array.from(v.items as ArrayLike<number | bigint>, Number);
    if (items.length !== layers) {
      throw new InputError("BAD_MODEL", `${key} has ${items.length} entries for ${layers} layers`, {
        location: file.path,
      });
    }
    return items;
  }
  return new Array<number>(layers).fill(getNumber(file, key));
}

/** The cache's shape per layer, read from the model file's metadata. */
export function kvShapeOf(file: GgufFile): KvShape {
  const arch = findString(file, "general.architecture") ?? "llama";
  const layers = getNumber(file, `${arch}.block_count`);
  const embd = getNumber(file, `${arch}.embedding_length`);
  const heads = perLayer(file, `${arch}.attention.head_count`, layers) ?? [];
  const kvHeads = perLayer(file, `${arch}.attention.head_count_kv`, layers) ?? heads;
  const keyLength = findNumber(file, `${arch}.attention.key_length`);
  const valueLength = findNumber(file, `${arch}.attention.value_length`);
  const known = SWA_PATTERN[arch];
  const window = findNumber(file, `${arch}.attention.sliding_window`) ?? known?.defaultWindow ?? 0;
  const pattern =
    findNumber(file, `${arch}.attention.sliding_window_pattern`) ?? known?.pattern ?? 0;
  const shape: KvShape = { architecture: arch, layers: [], window: known ? window : 0 };
  if (window > 0 && !known) {
    shape.unmodelled = `${arch} has a sliding window of ${window}; its layers are counted at full context`;
  }
  for (let il = 0; il < layers; il++) {
    const nHead = heads[il] ?? 0;
    const headK = keyLength ?? (nHead > 0 ? embd / nHead : 0);
    const headV = valueLength ?? (nHead > 0 ? embd / nHead : 0);
    const nKv = kvHeads[il] ?? 0;
    const swa = known !== undefined && window > 0 && il % pattern < pattern - 1;
    shape.layers.push({ headK, headV, k: headK * nKv, v: headV * nKv, swa });
  }
  return shape;
}

const pad256 = (n: number): number => Math.ceil(n / 256) * 256;

export interface KvCells {
  /** Cells of the full-attention layers: the context, padded to 256 (llama-context.cpp). */
  full: number;
  /** Cells of the sliding-window layers. */
  window: number;
}

/** The cells llama.cpp gives one sequence at this context and micro-batch. */
export function kvCells(shape: KvShape, contextSize: number, microBatch: number): KvCells {
  const full = pad256(contextSize);
  const window = shape.window > 0 ? pad256(Math.min(full, shape.window + microBatch)) : full;
  return { full, window };
}

function cacheType(name: string): GgmlType {
  const type = ggmlTypeByName(name);
  if (!type) throw new InputError("BAD_PLAN", `unknown KV cache type ${name}`);
  return type;
}

/** Bytes of a row of `elements` values of this type (ggml_row_size). */
function rowBytes(type: GgmlType, elements: number): number {
  return (elements / type.blockSize) * type.typeSize;
}

export interface KvBytes {
  k: number;
  v: number;
  total: number;
}

/** Bytes of the K and V caches for these cells. */
export function kvCacheBytes(
  shape: KvShape,
  cells: KvCells,
  types: { k: string; v: string },
): KvBytes {
  const k = cacheType(types.k);
  const v = cacheType(types.v);
  let kBytes = 0;
  let vBytes = 0;
  for (const layer of shape.layers) {
    const n = layer.swa ? cells.window : cells.full;
    kBytes += n * rowBytes(k, layer.k);
    vBytes += n * rowBytes(v, layer.v);
  }
  return { k: kBytes, v: vBytes, total: kBytes + vBytes };
}

/** Bytes one more token of context costs at full attention (every layer; windows excluded). */
export function kvBytesPerToken(shape: KvShape, types: { k: string; v: string }): number {
  const k = cacheType(types.k);
  const v = cacheType(types.v);
  let bytes = 0;
  for (const layer of shape.layers) {
    if (!layer.swa) bytes += rowBytes(k, layer.k) + rowBytes(v, layer.v);
  }
  return bytes;
}

/**
 * Why llama.cpp would refuse these cache types for this model, as llama_init_from_model checks
 * them (a quantized type's block must divide every layer's head size); undefined when it would not.
 */
export function kvCacheProblem(
  shape: KvShape,
  types: { k: string; v: string },
): string | undefined {
  for (const [which, name] of [
    ["K", types.k],
    ["V", types.v],
  ] as const) {
    const type = cacheType(name);
    if (!type.quantized) continue;
    for (const [il, layer] of shape.layers.entries()) {
      const head = which === "K" ? layer.headK : layer.headV;
      if (head % type.blockSize !== 0) {
        return `a ${name} ${which} cache needs a head size divisible by ${type.blockSize}; layer ${il} of this ${shape.architecture} model has ${head}`;
      }
    }
  }
  return undefined;
}
