/**
 * Real-shape speed: a random-weight Llama-layout GGUF shaped like a small real model (4 layers,
 * embedding 512, 8 heads / 2 KV heads, FFN 1536) with a real tokenizer — Llama 3's 128,256-token
 * BPE vocabulary by default — copied from the vocab-only GGUFs inside node-llama-cpp's bundled
 * llama.cpp sources (no download). Quantizes it to Q8_0 with qbench, then runs bench/overhead on
 * it: qbench vs node-llama-cpp direct vs llama-bench / llama-perplexity, side by side.
 *
 *   node dist/bench/real-shape.js [--vocab llama-bpe|qwen2|gemma] [--tools DIR] [--threads 1] [--prompt 512] [--gen 128]
 *   node dist/bench/real-shape.js --model-only   (writes the model, prints its path, stops)
 *
 * The llama.cpp tools come from the same bundle:
 *   git clone node_modules/node-llama-cpp/llama/gitRelease.bundle /tmp/llama-src
 *   cmake -S /tmp/llama-src -B /tmp/llama-src/build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF
 *   cmake --build /tmp/llama-src/build -j2 --target llama-perplexity llama-bench
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readTokenizer, writeSyntheticLlama } from "./quantize.js";

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const root = fileURLToPath(new URL("../../", import.meta.url));
const work = "/tmp/qbench-bench/real-shape";
const vocabName = arg("--vocab", "llama-bpe");
const bundle = join(root, "node_modules/node-llama-cpp/llama/gitRelease.bundle");

/** The vocab-only GGUF from the bundled llama.cpp sources, read out of git without a checkout. */
function vocabFile(): string {
  const out = join(work, `ggml-vocab-${vocabName}.gguf`);
  if (existsSync(out)) return out;
  const repo = join(work, "llama-src.git");
  if (!existsSync(repo)) execFileSync("git", ["clone", "-q", "--bare", bundle, repo]);
  const bytes = execFileSync(
    "git",
    ["--git-dir", repo, "show", `HEAD:models/ggml-vocab-${vocabName}.gguf`],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  writeFileSync(out, bytes);
  return out;
}

async function makeModel(): Promise<string> {
  const f16 = join(work, `real-shape-${vocabName}-f16.gguf`);
  const q8 = join(work, `real-shape-${vocabName}-q8_0.gguf`);
  if (existsSync(q8)) return q8;
  const { metadata: tokenizer, size } = await readTokenizer(vocabFile());
  const shape = { layers: 4, dim: 512, ffn: 1536, heads: 8, kvHeads: 2, vocab: size };
  await writeSyntheticLlama(f16, shape, "f16", 1234, tokenizer);
  execFileSync(process.execPath, [
    join(root, "bin/qbench.js"),
    "quantize",
    f16,
    "--type",
    "q8_0",
    "--out",
    q8,
  ]);
  process.stderr.write(`made ${q8}: vocabulary ${size} (${vocabName})\n`);
  return q8;
}

mkdirSync(work, { recursive: true });
const model = await makeModel();
// `--model-only`: just the file (bench/native-scorer.ts's 128k-vocabulary model).
if (process.argv.includes("--model-only")) {
  process.stdout.write(`${model}\n`);
  process.exit(0);
}
const passOn = ["--tools", "--threads", "--repeats"].flatMap((flag) =>
  process.argv.includes(flag) ? [flag, arg(flag, "")] : [],
);
// llama-bench's default shapes (-p 512 -n 128); perplexity at ctx 512.
const shape = ["--prompt", arg("--prompt", "512"), "--gen", arg("--gen", "128")];
execFileSync(
  process.execPath,
  [join(root, "dist/bench/overhead.js"), "--model", model, "--ctx", "512", ...shape, ...passOn],
  { stdio: "inherit" },
);
