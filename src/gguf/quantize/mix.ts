/**
 * llama-quantize's default type mixes: llama_tensor_get_type, llama_tensor_get_type_impl,
 * tensor_get_category and tensor_type_fallback of llama.cpp's src/llama-quant.cpp, for the file
 * types qbench writes. Called once per tensor in the loader's order, as llama-quantize's
 * preliminary pass does: the attn_v / ffn_down counters depend on that order.
 */

import { GGML_TYPES } from "../../../lib/gguf/ggml-types.js";
import { InputError } from "../../errors.js";

/** ggml type ids used by the rules. */
export const T = {
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  IQ4_NL: 20,
  IQ4_XS: 23,
} as const;

/** llama.h enum llama_ftype values of the mixes the rules name. */
export const FT = {
  Q4_0: 2,
  Q5_0: 8,
  Q2_K: 10,
  Q2_K_S: 21,
  Q3_K_S: 11,
  Q3_K_M: 12,
  Q3_K_L: 13,
  Q4_K_S: 14,
  Q4_K_M: 15,
  Q5_K_S: 16,
  Q5_K_M: 17,
  Q6_K: 18,
  IQ4_NL: 25,
  IQ4_XS: 30,
} as const;

export type TensorCategory =
  | "output"
  | "token_embd"
  | "attn_qkv"
  | "attn_kv_b"
  | "attn_v"
  | "attn_k"
  | "attn_q"
  | "attn_output"
  | "ffn_up"
  | "ffn_gate"
  | "ffn_down"
  | "other";

/** tensor_get_category: broad roles by name, first match wins. */
export function tensorCategory(name: string): TensorCategory {
  if (name === "output.weight") return "output";
  if (name === "token_embd.weight" || name === "per_layer_token_embd.weight") return "token_embd";
  const fragments: [string, TensorCategory][] = [
    ["attn_qkv.weight", "attn_qkv"],
    ["attn_kv_b.weight", "attn_kv_b"],
    ["attn_v.weight", "attn_v"],
    ["attn_k.weight", "attn_k"],
    ["attn_q.weight", "attn_q"],
    ["attn_output.weight", "attn_output"],
    ["ffn_up", "ffn_up"],
    ["ffn_gate", "ffn_gate"],
    ["ffn_down", "ffn_down"],
  ];
  for (const [fragment, category] of fragments) if (name.includes(fragment)) return category;
  return "other";
}

const isAttnV = (c: TensorCategory) => c === "attn_v" || c === "attn_qkv" || c === "attn_kv_b";

/** The model facts the rules read (llama_hparams, llm_arch, llm_type). */
export interface MixModel {
  arch: string;
  /** n_head / n_head_kv of layer 0 (integer division; 0 when n_head_kv is 0). */
  nGqa: number;
  nExpert: number;
  /** block_count (hparams.n_layer_all). */
  nLayer: number;
  /** llm_type 70B: Llama with 80 layers and grouped KV heads. */
  is70B: boolean;
}

/** A `--tensor-type PATTERN=TYPE` override: the first pattern found in the name (regex_search) wins. */
export interface TensorTypeOverride {
  pattern: RegExp;
  type: number;
}

export interface MixOptions {
  ftype: number;
  /** The file type's default tensor type (llama_ftype_get_default_type). */
  defaultType: number;
  pure: boolean;
  hasImatrix: boolean;
  overrides: readonly TensorTypeOverride[];
  /** --output-tensor-type: output.weight's type (and tied token embeddings' without --token-embedding-type). */
  outputTensorType?: number | undefined;
  /** --token-embedding-type: token_embd's type. */
  tokenEmbeddingType?: number | undefined;
}

const blockSize = (type: number) => GGML_TYPES.get(type)?.blockSize ?? 1;
const isQuantized = (type: number) => GGML_TYPES.get(type)?.quantized ?? false;
const useMoreBits = (i: number, n: number) =>
  i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

/** tensor_type_fallback: the type a row length that is not a multiple of the block size falls back to. */
export function fallbackType(ncols: number, target: number): number {
  if (ncols % blockSize(target) === 0) return target;
  const fallbacks: Record<number, number> = {
    [T.IQ4_XS]: T.IQ4_NL,
    [T.Q2_K]: T.Q4_0,
    [T.Q3_K]: T.Q4_0,
    [T.Q4_K]: T.Q5_0,
    [T.Q5_K]: T.Q5_1,
    [T.Q6_K]: T.Q8_0,
  };
  const to = fallbacks[target] ?? target;
  return ncols % blockSize(to) === 0 ? to : T.F16;
}

/** One quantization run's state: llama-quantize's quantize_state_impl. */
export class MixChooser {
  private iAttentionWv = 0;
  private iFfnDown = 0;
  private iFfnGate = 0;
  private iFfnUp = 0;
  private readonly nAttentionWv: number;
  private readonly tiedEmbeddings: boolean;

  constructor(
    private readonly model: MixModel,
    private readonly options: MixOptions,
    allNames: readonly string[],
  ) {
    this.nAttentionWv = allNames.filter((n) => isAttnV(tensorCategory(n))).length;
    this.tiedEmbeddings = !allNames.includes("output.weight");
  }

  /**
   * llama_tensor_get_type for a tensor that tensor_allows_quantization accepts; `fallback` when
   * the row length forced another type than the mix chose.
   */
  choose(name: string, ncols: number): { type: number; fallback: boolean } {
    const { outputTensorType, tokenEmbeddingType } = this.options;
    const category = tensorCategory(name);
    // llama_tensor_get_type: these two options come first, --pure or not, with no fall-back;
    // per_layer_token_embd follows --token-embedding-type unless a --tensor-type names it.
    if (tokenEmbeddingType !== undefined && category === "token_embd") {
      const named =
        name === "per_layer_token_embd.weight" &&
        this.options.overrides.some((o) => o.pattern.test(name));
      if (!named) return { type: tokenEmbeddingType, fallback: false };
    }
    if (outputTensorType !== undefined && category === "output") {
      return { type: outputTensorType, fallback: false };
    }
    let type = this.options.defaultType;
    if (!isQuantized(type)) return { type, fallback: false };
    const manual = this.options.overrides.find((o) => o.pattern.test(name));
    if (manual !== undefined) type = manual.type;
    else if (!this.options.pure) type = this.impl(type, name, ncols, category);
    const fitted = fallbackType(ncols, type);
    return { type: fitted, fallback: fitted !== type };
  }

  private layerInfo(counter: number, name: string): [number, number] {
    const n = this.model.nLayer;
    if (this.model.nExpert <= 1) return [counter, n];
    const match = /^blk\.\s*([+-]?\d+)\./.exec(name);
    if (!match) throw new InputError("BAD_MODEL", `failed to determine layer for tensor ${name}`);
    const layer = Number(match[1]);
    if (layer < 0 || layer >= n) {
      throw new InputError(
        "BAD_MODEL",
        `bad layer ${layer} for tensor ${name}: must be in [0, ${n})`,
      );
    }
    return [layer, n];
  }

  private impl(type: number, name: string, ncols: number, cat: TensorCategory): number {
    const { ftype, hasImatrix } = this.options;
    const { arch, nGqa, nExpert } = this.model;
    const falcon = arch === "falcon";
    if (cat === "output" || (this.tiedEmbeddings && cat === "token_embd")) {
      if (this.options.outputTensorType !== undefined) return this.options.outputTensorType;
      if (falcon || ncols % blockSize(type) !== 0) return T.Q8_0;
      return type !== T.Q8_0 ? T.Q6_K : type;
    }
    if (cat === "token_embd") return type;
    if (isAttnV(cat)) {
      const i = this.iAttentionWv;
      if (ftype === FT.Q2_K) type = nGqa >= 4 ? T.Q4_K : T.Q3_K;
      else if (ftype === FT.Q2_K_S && nGqa >= 4) type = T.Q4_K;
      else if (ftype === FT.Q3_K_M) type = i < 2 ? T.Q5_K : T.Q4_K;
      else if (ftype === FT.Q3_K_L) type = T.Q5_K;
      else if ((ftype === FT.IQ4_NL || ftype === FT.IQ4_XS) && nGqa >= 4) type = T.Q5_K;
      else if ((ftype === FT.Q4_K_M || ftype === FT.Q5_K_M) && useMoreBits(i, this.nAttentionWv)) {
        type = T.Q6_K;
      } else if (ftype === FT.Q4_K_S && i < 4) type = T.Q5_K;
      if (this.model.is70B && (type === T.Q3_K || type === T.Q4_K)) type = T.Q5_K;
      if (nExpert === 8) type = T.Q8_0;
      this.iAttentionWv++;
      return type;
    }
    if (cat === "attn_k") return nExpert === 8 ? T.Q8_0 : type;
    if (cat === "ffn_down") {
      const [i, n] = this.layerInfo(this.iFfnDown, name);
      const n8 = Math.trunc(n / 8);
      if (ftype === FT.Q2_K) type = T.Q3_K;
      else if (ftype === FT.Q2_K_S) {
        if (i < n8) type = T.Q4_K;
      } else if (ftype === FT.Q3_K_M) {
        type = i < Math.trunc(n / 16) ? T.Q5_K : !falcon || useMoreBits(i, n) ? T.Q4_K : T.Q3_K;
      } else if (ftype === FT.Q3_K_L) type = falcon ? T.Q4_K : T.Q5_K;
      else if (ftype === FT.Q4_K_M) {
        if (falcon) {
          type = i < Math.trunc(n / 16) ? T.Q6_K : useMoreBits(i, n) ? T.Q5_K : T.Q4_K;
        } else if (useMoreBits(i, n)) type = T.Q6_K;
      } else if (i < n8 && (ftype === FT.IQ4_NL || ftype === FT.IQ4_XS) && !hasImatrix) {
        type = T.Q5_K;
      } else if (ftype === FT.Q5_K_M && useMoreBits(i, n)) type = T.Q6_K;
      else if (ftype === FT.Q4_K_S && !falcon && i < n8) type = T.Q5_K;
      else if ((ftype === FT.Q4_0 || ftype === FT.Q5_0) && hasImatrix && i < n8) {
        type = ftype === FT.Q4_0 ? T.Q4_1 : T.Q5_1;
      }
      this.iFfnDown++;
      return type;
    }
    if (cat === "attn_output") {
      if (!falcon) {
        if (nExpert === 8) {
          const bumped: number[] = [
            FT.Q2_K,
            FT.Q3_K_S,
            FT.Q3_K_M,
            FT.IQ4_NL,
            FT.Q4_K_S,
            FT.Q4_K_M,
            FT.IQ4_XS,
          ];
          if (bumped.includes(ftype)) type = T.Q5_K;
        } else if (ftype === FT.Q2_K) type = T.Q3_K;
        else if (ftype === FT.Q3_K_M) type = T.Q4_K;
        else if (ftype === FT.Q3_K_L) type = T.Q5_K;
      } else if (ftype === FT.Q3_K_L) type = T.Q4_K;
      return type;
    }
    if (cat === "ffn_gate") {
      this.layerInfo(this.iFfnGate, name);
      this.iFfnGate++;
      return type;
    }
    if (cat === "ffn_up") {
      this.layerInfo(this.iFfnUp, name);
      this.iFfnUp++;
      return type;
    }
    return type;
  }
}
