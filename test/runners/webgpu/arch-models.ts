/**
 * Random-weight GGUF files in each architecture's real tensor layout and metadata (the names,
 * shapes and keys llama.cpp's src/models/<arch>.cpp reads), written at test time with qbench's
 * GGUF writer. Small on purpose: 2 layers, width 256, stories260K's 512-token tokenizer (the
 * architectures' own vocabularies are checked by tokenizer.test.ts; at width 256 a 152k or
 * 256k output projection would make each file minutes on llvmpipe).
 */
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { random, readTokenizer, roughlyNormal } from "../../../bench/quantize.js";
import type { GgufValue } from "../../../lib/gguf/reader.js";
import { F16 } from "../../../src/gguf/quantize/float-formats.js";
import { quantizeTarget } from "../../../src/gguf/quantize/formats.js";
import { quantizeGguf } from "../../../src/gguf/quantize/quantize-file.js";
import { ggufValue as v, writeGguf } from "../../../src/gguf/writer.js";
import { model } from "../../support/paths.js";

const DIR = join(tmpdir(), `qbench-webgpu-arch-${process.pid}`);

export type Arch = "llama" | "qwen2" | "qwen3" | "phi3" | "gemma" | "gemma2" | "gemma3";
export type Format = "f32" | "f16";

const LAYERS = 2;
const HEAD_DIM = 64;

/** The model's widths: heads of 64, half as many KV heads, ffn twice the width. */
interface Shape {
  dim: number;
  heads: number;
  kvHeads: number;
  ffn: number;
}

function shapeOf(arch: Arch, dim: number): Shape {
  const heads = dim / HEAD_DIM;
  // qwen3 uses a head size other than width / heads (as Qwen3 does: 128 × 16 heads ≠ 1024).
  return { dim, heads: arch === "qwen3" ? 2 * heads : heads, kvHeads: heads / 2, ffn: 2 * dim };
}

type Role = "matrix" | "norm" | "bias";

interface TensorPlan {
  name: string;
  dims: number[];
  role: Role;
}

/** The tensors of `arch` (ggml order: row length first), as llama.cpp creates them. */
function tensorsOf(arch: Arch, { dim, heads, kvHeads, ffn }: Shape): TensorPlan[] {
  const qDim = heads * HEAD_DIM;
  const kv = kvHeads * HEAD_DIM;
  const out: TensorPlan[] = [
    { name: "token_embd.weight", dims: [dim, 0], role: "matrix" },
    { name: "output_norm.weight", dims: [dim], role: "norm" },
  ];
  // Llama and Qwen2 keep a separate output; Qwen3, Phi-3 and Gemma 3 here tie it; Gemma 1/2 always do.
  if (arch === "llama" || arch === "qwen2") {
    out.push({ name: "output.weight", dims: [dim, 0], role: "matrix" });
  }
  for (let i = 0; i < LAYERS; i++) {
    const b = `blk.${i}.`;
    const t = (name: string, dims: number[], role: Role = "matrix") =>
      out.push({ name: b + name, dims, role });
    t("attn_norm.weight", [dim], "norm");
    if (arch === "phi3") {
      t("attn_qkv.weight", [dim, qDim + 2 * kv]);
    } else {
      t("attn_q.weight", [dim, qDim]);
      t("attn_k.weight", [dim, kv]);
      t("attn_v.weight", [dim, kv]);
    }
    if (arch === "qwen2") {
      t("attn_q.bias", [qDim], "bias");
      t("attn_k.bias", [kv], "bias");
      t("attn_v.bias", [kv], "bias");
    }
    if (arch === "qwen3" || arch === "gemma3") {
      t("attn_q_norm.weight", [HEAD_DIM], "norm");
      t("attn_k_norm.weight", [HEAD_DIM], "norm");
    }
    t("attn_output.weight", [qDim, dim]);
    const postNorms = arch === "gemma2" || arch === "gemma3";
    if (postNorms) t("post_attention_norm.weight", [dim], "norm");
    t("ffn_norm.weight", [dim], "norm");
    if (arch === "phi3") {
      t("ffn_up.weight", [dim, 2 * ffn]);
    } else {
      t("ffn_gate.weight", [dim, ffn]);
      t("ffn_up.weight", [dim, ffn]);
    }
    t("ffn_down.weight", [ffn, dim]);
    if (postNorms) t("post_ffw_norm.weight", [dim], "norm");
  }
  return out;
}

/** The hyper-parameters of `arch` as its converter writes them. */
function metadataOf(arch: Arch, { dim, heads, kvHeads, ffn }: Shape): Record<string, GgufValue> {
  const k = (key: string) => `${arch}.${key}`;
  const meta: Record<string, GgufValue> = {
    "general.architecture": v.string(arch),
    // Not the architecture's name: llama.cpp's vocabulary loader keys Phi-3's special tokens
    // (<|endoftext|>, which stories260K's vocabulary lacks) on "phi3" in general.name.
    "general.name": v.string(`random weights ${LAYERS}x${dim}`),
    [k("context_length")]: v.uint32(4096),
    [k("embedding_length")]: v.uint32(dim),
    [k("block_count")]: v.uint32(LAYERS),
    [k("feed_forward_length")]: v.uint32(ffn),
    [k("attention.head_count")]: v.uint32(heads),
    [k("attention.head_count_kv")]: v.uint32(kvHeads),
    [k("attention.layer_norm_rms_epsilon")]: v.float32(arch === "llama" ? 1e-5 : 1e-6),
  };
  switch (arch) {
    case "llama": // Mistral 7B v0.2's settings: RoPE base 1e6, grouped-query attention.
      meta[k("rope.freq_base")] = v.float32(1_000_000);
      meta[k("rope.dimension_count")] = v.uint32(HEAD_DIM);
      break;
    case "qwen2":
      meta[k("rope.freq_base")] = v.float32(1_000_000);
      break;
    case "qwen3":
      meta[k("rope.freq_base")] = v.float32(1_000_000);
      meta[k("attention.key_length")] = v.uint32(HEAD_DIM);
      meta[k("attention.value_length")] = v.uint32(HEAD_DIM);
      break;
    case "phi3":
      // Partial rotation (half of each head), so NEOX's pairs (i, i + nRot/2) are exercised.
      meta[k("rope.dimension_count")] = v.uint32(HEAD_DIM / 2);
      meta[k("rope.freq_base")] = v.float32(10_000);
      break;
    case "gemma":
      meta[k("attention.key_length")] = v.uint32(HEAD_DIM);
      meta[k("attention.value_length")] = v.uint32(HEAD_DIM);
      break;
    case "gemma3":
      meta[k("attention.key_length")] = v.uint32(HEAD_DIM);
      meta[k("attention.value_length")] = v.uint32(HEAD_DIM);
      // Gemma 3's RoPE: base 1e6 with linear scaling ×8 on the global layers, 10000 unscaled
      // on the sliding ones; window 32 here (1024 shipped), every other layer (5 of 6 shipped).
      meta[k("rope.freq_base")] = v.float32(1_000_000);
      meta[k("rope.freq_base_swa")] = v.float32(10_000);
      meta[k("rope.scaling.type")] = v.string("linear");
      meta[k("rope.scaling.factor")] = v.float32(8);
      meta[k("attention.sliding_window")] = v.uint32(32);
      meta[k("attention.sliding_window_pattern")] = v.uint32(2);
      break;
    case "gemma2":
      meta[k("attention.key_length")] = v.uint32(HEAD_DIM);
      meta[k("attention.value_length")] = v.uint32(HEAD_DIM);
      // Small enough to bite at this width and context (Gemma 2 ships 50 and 30, window 4096).
      meta[k("attn_logit_softcapping")] = v.float32(0.2);
      meta[k("final_logit_softcapping")] = v.float32(1.0);
      meta[k("attention.sliding_window")] = v.uint32(32);
      break;
  }
  return meta;
}

/** Values for a role: matrices ≈ N(0, 0.02²), norms ≈ 1 ± 0.06, biases ≈ N(0, 0.3²). */
function values(n: number, role: Role, next: () => number): Float32Array {
  const x = new Float32Array(n);
  const scale = role === "matrix" ? 0.04 : role === "norm" ? 0.1 : 0.5;
  for (let i = 0; i < n; i++) {
    x[i] = (role === "norm" ? 1 : 0) + scale * roughlyNormal(next);
  }
  return x;
}

export interface ArchModelOptions {
  /** Width (a multiple of 128); 256 by default. */
  dim?: number;
  /** A GGUF whose tokenizer the model takes; stories260K's 512 tokens by default. */
  tokenizerGguf?: string;
  seed?: number;
}

/** Writes the random-weight `arch` model in `format` (deterministic in its options); returns its path. */
export async function archModel(
  arch: Arch,
  format: Format,
  options: ArchModelOptions = {},
): Promise<string> {
  const { dim = 256, seed = 18 } = options;
  mkdirSync(DIR, { recursive: true });
  const vocabName = options.tokenizerGguf ? "-vocab" : "";
  const path = join(DIR, `${arch}-${dim}${vocabName}-${format}.gguf`);
  const source = options.tokenizerGguf ?? model("stories260K-f32.gguf");
  const { metadata: tokenizer, size: vocab } = await readTokenizer(source);
  const next = random(seed);
  const shape = shapeOf(arch, dim);
  const tensors = tensorsOf(arch, shape).map(({ name, dims, role }) => {
    const shape = dims.map((d) => (d === 0 ? vocab : d));
    const x = values(
      shape.reduce((a, b) => a * b, 1),
      role,
      next,
    );
    const half = format === "f16" && role === "matrix";
    let data = new Uint8Array(x.buffer);
    if (half) {
      data = new Uint8Array(2 * x.length);
      F16.quantizeRow(x, data);
    }
    return { name, dims: shape, type: half ? 1 : 0, data };
  });
  await writeGguf(path, {
    metadata: {
      ...metadataOf(arch, shape),
      "general.file_type": v.uint32(format === "f16" ? 1 : 0),
      ...Object.fromEntries(tokenizer),
    },
    tensors,
  });
  return path;
}

/**
 * The F16 model quantized by qbench's quantizer with `qbench quantize --type`'s default mix
 * (byte-identical with llama-quantize's for these files: docs/webgpu.md).
 */
export async function archQuantized(arch: Arch, type: string): Promise<string> {
  const output = join(DIR, `${arch}-${type}.gguf`);
  const target = quantizeTarget(type);
  if (!target) throw new Error(`no quantize target ${type}`);
  await quantizeGguf({ input: await archModel(arch, "f16"), output, target, threads: 1 });
  return output;
}

/** Removes the files made here (call from the test file's `after`). */
export function removeArchModels(): void {
  rmSync(DIR, { recursive: true, force: true });
}
