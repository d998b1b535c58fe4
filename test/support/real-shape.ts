import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTokenizer, writeSyntheticLlama } from "../../bench/quantize.js";
import { ROOT } from "./paths.js";

/**
 * The real-shape KLD test model: Llama 3's 128,256-token tokenizer on random weights, small
 * enough for CI (2 layers, embedding 256). Deterministic in its seed, so the llama-perplexity
 * figures in test/fixtures/ppl/kld-real-shape.json hold for the file the test writes.
 */
export const REAL_SHAPE = { layers: 2, dim: 256, ffn: 768, heads: 4, kvHeads: 2, seed: 15 };

/** Writes the real-shape model's F16 file with the tokenizer of `vocabGguf`. */
export async function writeRealShape(path: string, vocabGguf: string): Promise<void> {
  const { metadata, size } = await readTokenizer(vocabGguf);
  const { seed, ...shape } = REAL_SHAPE;
  await writeSyntheticLlama(path, { ...shape, vocab: size }, "f16", seed, metadata);
}

/**
 * A vocab-only GGUF (`ggml-vocab-llama-bpe.gguf`, …) out of the llama.cpp sources that ship inside
 * node-llama-cpp (its git bundle), written under `dir`: a real tokenizer with no download.
 */
export function bundledVocab(dir: string, name = "llama-bpe"): string {
  const bundle = join(ROOT, "node_modules/node-llama-cpp/llama/gitRelease.bundle");
  const repo = join(dir, "llama-src.git");
  if (!existsSync(repo)) execFileSync("git", ["clone", "-q", "--bare", bundle, repo]);
  const out = join(dir, `ggml-vocab-${name}.gguf`);
  const bytes = execFileSync(
    "git",
    ["--git-dir", repo, "show", `HEAD:models/ggml-vocab-${name}.gguf`],
    {
      maxBuffer: 256 << 20,
    },
  );
  writeFileSync(out, bytes);
  return out;
}
