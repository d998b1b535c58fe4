/**
 * Which tensors llama-quantize --pure converts and to what, ported from llama.cpp's
 * src/llama-quant.cpp (tensor_allows_quantization, llama_tensor_get_type, tensor_type_fallback,
 * and the llama_model_loader weight order). With --pure every tensor that may be quantized gets
 * the target type, token_embd.weight and output.weight included; only the shape fall-back applies.
 */

/** Name fragments whose tensors llama.cpp never quantizes (norms, gates, small or positional tensors). */
const NEVER_QUANTIZED = [
  "_norm.weight",
  "ffn_gate_inp.weight",
  "ffn_gate_tid2eid.weight",
  "altup",
  "laurel",
  "per_layer_model_proj",
  "ssm_conv1d",
  "shortconv.conv.weight",
  "indexer.k_proj.weight",
  "indexer.q_proj.weight",
  "time_mix_first.weight",
  "time_mix_w0.weight",
  "time_mix_w1.weight",
  "time_mix_w2.weight",
  "time_mix_v0.weight",
  "time_mix_v1.weight",
  "time_mix_v2.weight",
  "time_mix_a0.weight",
  "time_mix_a1.weight",
  "time_mix_a2.weight",
  "time_mix_g1.weight",
  "time_mix_g2.weight",
  "time_mix_decay_w1.weight",
  "time_mix_decay_w2.weight",
  "time_mix_lerp_fused.weight",
  "attn_rel_b.weight",
  ".position_embd",
  "sam.pos_embd",
  "sam.neck.",
  "sam.net_",
  ".rel_pos",
  ".patch_embd",
  ".patch_merger",
  "a.rvq.codebook",
  "mm.a.code_embd",
];

/** Whole names llama.cpp never quantizes (LLM_TN's position and token-type embeddings). */
const NEVER_QUANTIZED_NAMES = new Set(["position_embd.weight", "token_types.weight"]);

/** ggml_n_dims: the shape without trailing 1s (at least one dimension); GGUF writers store this many. */
export function trimDims(dims: readonly number[]): number[] {
  let n = dims.length;
  while (n > 1 && dims[n - 1] === 1) n--;
  return n === 0 ? [1] : dims.slice(0, n);
}

/** tensor_allows_quantization with default parameters (quantize_output_tensor on, only_copy off). */
export function allowsQuantization(name: string, dims: readonly number[]): boolean {
  if (trimDims(dims).length < 2) return false;
  // llama.cpp tests name.rfind("weight") == name.size() - 6, which a 5-byte name also passes (npos == -1).
  const bytes = Buffer.byteLength(name, "utf8");
  if (!name.endsWith("weight") && bytes !== 5) return false;
  if (NEVER_QUANTIZED_NAMES.has(name)) return false;
  return !NEVER_QUANTIZED.some((fragment) => name.includes(fragment));
}

/** The layer sscanf(name, "blk.%d.") finds, or -1. */
function layerOf(name: string): number {
  const match = /^blk\.\s*([+-]?\d+)/.exec(name);
  if (!match?.[1]) return -1;
  const layer = Number.parseInt(match[1], 10);
  return Math.max(-2147483648, Math.min(2147483647, layer));
}

/** llama_model_loader's weight_name_comparer: by layer number (non-layer tensors first), then by name bytes. */
export function compareTensorNames(a: string, b: string): number {
  const la = layerOf(a);
  const lb = layerOf(b);
  if (la !== lb) return la < lb ? -1 : 1;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
