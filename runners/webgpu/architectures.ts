/**
 * What the decoder architectures the WebGPU runner knows differ in, as llama.cpp's graphs for
 * them do it (src/models/<arch>.cpp, the rope type in llama-model.cpp's llama_model_rope_type).
 * Every other part of the graph (RMSNorm, grouped-query attention, gated FFN) is shared.
 */
import { findNumber, type GgufFile } from "../../lib/gguf/reader.js";

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

/** Which layers slide: the file's per-layer array, or llama.cpp's set_swa_pattern(n, dense_first = false). */
function swaPattern(file: GgufFile, key: string, nLayer: number, fallback: number): boolean[] {
  const value = file.metadata.get(key);
  if (value && "items" in value) {
    return Array.from({ length: nLayer }, (_, il) => Boolean((value.items as unknown[])[il]));
  }
  const n = findNumber(file, key) ?? fallback;
  return Array.from({ length: nLayer }, (_, il) => n === 0 || il % n < n - 1);
}

export interface ArchTraits {
  /** RoPE pairs (i, i + nRot/2) (llama.cpp's NEOX type) instead of (2i, 2i+1) (NORM). */
  ropeNeox: boolean;
  /** Whether the file may carry Llama 3's rope_freqs.weight frequency factors. */
  ropeFactors: boolean;
  /** Per-head RMSNorm of Q and K before RoPE (attn_q_norm / attn_k_norm). */
  qkNorm: boolean;
  /** RMSNorm of the attention and FFN outputs before each residual add. */
  postNorms: boolean;
  /** A fused ffn_up (gate rows, then up rows) when the file has no ffn_gate. */
  fusedGateUp: boolean;
  /** The output projection is token_embd whatever else the file holds. */
  tiedOutputAlways: boolean;
  /** The factor on the token embeddings. */
  embedScale: number;
  /** The factor on Q·K before the softmax. */
  attnScale: number;
  /** c of c·tanh(s / c) on attention scores; 0 for none. */
  attnSoftcap: number;
  /** c of c·tanh(z / c) on the output logits; 0 for none. */
  finalSoftcap: number;
  /** Key j is visible from position p on a sliding-window layer when p − j < slidingWindow. */
  slidingWindow: number;
  swaLayers: boolean[];
  /** RoPE base and freq_scale on the sliding-window layers. */
  ropeBaseSwa: number;
  ropeFreqScaleSwa: number;
  ffnAct: "silu" | "gelu";
}

interface Shape {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  headDim: number;
  ropeBase: number;
  ropeFreqScale: number;
}

const PLAIN = {
  ropeNeox: false,
  ropeFactors: false,
  qkNorm: false,
  postNorms: false,
  fusedGateUp: false,
  tiedOutputAlways: false,
  embedScale: 1,
  attnSoftcap: 0,
  finalSoftcap: 0,
  slidingWindow: 0,
  ffnAct: "silu",
} as const;

/** The architectures the runner runs, by GGUF general.architecture. */
export const ARCHITECTURES = [
  "llama",
  "qwen2",
  "qwen3",
  "phi3",
  "gemma",
  "gemma2",
  "gemma3",
] as const;

/**
 * gemma_pytorch's query_pre_attn_scalar as llama.cpp derives it (f_attention_scale): n_embd /
 * n_head on the 27B models (`layers27B` layers), the head size otherwise.
 */
function gemmaQueryScale(s: Shape, layers27B: number): number {
  return 1 / Math.sqrt(s.nLayer === layers27B ? s.nEmbd / s.nHead : s.headDim);
}

/** Refuses an architecture the runner has no graph for, naming it (before any key is read). */
export function checkArchitecture(arch: string): void {
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new UnsupportedModelError(
      `architecture "${arch}" is not supported (${ARCHITECTURES.join(", ")})`,
    );
  }
}

/** The traits of `arch` for this file, or an error naming the architecture. */
export function archTraits(file: GgufFile, arch: string, s: Shape): ArchTraits {
  const common = {
    ...PLAIN,
    attnScale: 1 / Math.sqrt(s.headDim),
    swaLayers: [] as boolean[],
    ropeBaseSwa: s.ropeBase,
    ropeFreqScaleSwa: s.ropeFreqScale,
  };
  // llama.cpp scales embeddings by sqrtf(n_embd) in f32; the converter stored 1 + w in the norms.
  const gemma = {
    ropeNeox: true,
    embedScale: Math.fround(Math.sqrt(s.nEmbd)),
    ffnAct: "gelu" as const,
  };
  switch (arch) {
    case "llama":
      return { ...common, ropeFactors: true };
    case "qwen2":
      return { ...common, ropeNeox: true };
    case "qwen3":
      return { ...common, ropeNeox: true, qkNorm: true };
    case "phi3":
      // llama.cpp disables Phi-3's sliding window ("Phi SWA is currently disabled").
      return { ...common, ropeNeox: true, fusedGateUp: true };
    case "gemma":
      return { ...common, ...gemma, tiedOutputAlways: true };
    case "gemma2":
      return {
        ...common,
        ...gemma,
        postNorms: true,
        tiedOutputAlways: true,
        attnScale: gemmaQueryScale(s, 46),
        attnSoftcap: findNumber(file, "gemma2.attn_logit_softcapping") ?? 50,
        finalSoftcap: findNumber(file, "gemma2.final_logit_softcapping") ?? 30,
        slidingWindow: findNumber(file, "gemma2.attention.sliding_window") ?? 4096,
        swaLayers: swaPattern(file, "gemma2.attention.sliding_window_pattern", s.nLayer, 2),
        ropeBaseSwa: findNumber(file, "gemma2.rope.freq_base_swa") ?? s.ropeBase,
      };
    case "gemma3": {
      // Sliding layers only with a window in the file; they keep llama.cpp's own defaults for
      // their RoPE (base 10000 unless rope.freq_base_swa, no scaling), the others the file's.
      const window = findNumber(file, "gemma3.attention.sliding_window") ?? 0;
      return {
        ...common,
        ...gemma,
        qkNorm: true,
        postNorms: true,
        attnScale: gemmaQueryScale(s, 62),
        finalSoftcap: findNumber(file, "gemma3.final_logit_softcapping") ?? 0,
        slidingWindow: window,
        swaLayers:
          window > 0
            ? swaPattern(file, "gemma3.attention.sliding_window_pattern", s.nLayer, 6)
            : [],
        ropeBaseSwa: findNumber(file, "gemma3.rope.freq_base_swa") ?? 10000,
        ropeFreqScaleSwa: 1,
      };
    }
    default:
      throw new UnsupportedModelError(
        `architecture "${arch}" is not supported (${ARCHITECTURES.join(", ")})`,
      );
  }
}
