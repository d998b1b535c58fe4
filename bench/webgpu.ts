// Decode and prefill speed of the WebGPU runner vs the llama.cpp runner (CPU) on the same
// machine and files, through the runner protocol's `benchmark` (llama-bench's shapes: random
// prompt tokens, then greedy decode steps; timings are the runners' own).
// `--floor` also measures how far llama.cpp CPU disagrees with itself (flash attention on vs
// off), the noise floor of the agreement figures in docs/webgpu.md.
// `--eval-ctx N` measures `evaluate` instead (perplexity's chunks of N tokens of the fixture
// text, log-probs of the actual tokens only), and `--vocab128k` runs on a model made here:
// random weights (2 layers, width 256) with Llama 3's 128,256-token vocabulary from the
// vocab-only GGUF in node-llama-cpp's bundled llama.cpp sources (/tmp/llama-src/models).
// Run: npx tsc -p tsconfig.json && node dist/bench/webgpu.js [--prompt 256] [--gen 128]
//      [--repeats 3] [--threads 2] [--floor | --floor-only] [--eval-ctx 512 [--eval-tokens N]]
//      [--top-k K] [--vocab128k] [MODEL.gguf ...]
// `--top-k K` asks each scored position's top K too (what a KLD baseline pass asks: 512).
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from "node-llama-cpp";
import type { RunnerClient } from "../src/runner-client/client.js";
import type { BenchmarkResult, LoadParams } from "../src/runner-client/protocol.js";
import { resolveRunner } from "../src/runner-client/registry.js";
import { startRunner } from "../src/runner-client/start.js";
import { perplexityChunks, perplexityText } from "../src/scoring/perplexity.js";
import { ROOT } from "../test/support/paths.js";
import { readTokenizer, writeSyntheticLlama } from "./quantize.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    prompt: { type: "string", default: "256" },
    gen: { type: "string", default: "128" },
    repeats: { type: "string", default: "3" },
    threads: { type: "string", default: String(availableParallelism()) },
    floor: { type: "boolean", default: false },
    "floor-only": { type: "boolean", default: false },
    "eval-ctx": { type: "string" },
    "eval-tokens": { type: "string" },
    "top-k": { type: "string", default: "0" },
    vocab128k: { type: "boolean", default: false },
    "vocab-gguf": { type: "string", default: "/tmp/llama-src/models/ggml-vocab-llama-bpe.gguf" },
  },
});
const promptTokens = Number(values.prompt);
const gen = Number(values.gen);
const repeats = Number(values.repeats);
const threads = Number(values.threads);
const topK = Number(values["top-k"]);
/** The 128k-vocabulary model (made once under /tmp). */
async function vocab128k(): Promise<string> {
  const dir = "/tmp/qbench-bench/webgpu";
  const path = join(dir, "wide-llama3-vocab-f16.gguf");
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const { metadata, size } = await readTokenizer(values["vocab-gguf"]);
  const shape = { layers: 2, dim: 256, ffn: 512, heads: 4, kvHeads: 2, vocab: size };
  await writeSyntheticLlama(path, shape, "f16", 18, metadata);
  return path;
}

const models = values.vocab128k
  ? [await vocab128k()]
  : positionals.length > 0
    ? positionals
    : ["f32", "f16", "q8_0", "q4_0"]
        .map((t) => join(ROOT, `../shared/models/stories260K-${t}.gguf`))
        .filter(existsSync);
const TEXT = perplexityText(readFileSync(join(ROOT, "test/fixtures/ppl/stories.txt"), "utf8"));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Speed {
  prefill: number;
  decode: number;
}

async function measure(runner: RunnerClient): Promise<Speed> {
  const params = { promptTokens, generateTokens: gen, depth: 0, seed: 1 };
  await runner.request("benchmark", params, 600_000);
  const runs: BenchmarkResult[] = [];
  for (let r = 0; r < repeats; r++) {
    runs.push(await runner.request("benchmark", { ...params, seed: 2 + r }, 600_000));
  }
  return {
    prefill: median(runs.map((b) => b.promptTokens / (b.prefillMs / 1000))),
    decode: median(runs.map((b) => b.generatedTokens / (b.decodeMs / 1000))),
  };
}

async function speeds(path: string): Promise<void> {
  const load: LoadParams = {
    model: path,
    backend: "cpu",
    contextSize: promptTokens + gen + 8,
    seed: 1,
    threads,
  };
  const llama = await startRunner(resolveRunner("cpu", undefined), load, 120_000);
  const webgpu = await startRunner(
    resolveRunner("webgpu", undefined),
    { ...load, backend: "webgpu" },
    120_000,
  );
  try {
    const a = await measure(llama.client);
    const b = await measure(webgpu.client);
    const row = (label: string, s: Speed) =>
      `  ${label.padEnd(48)} prefill ${s.prefill.toFixed(0).padStart(7)} tok/s   decode ${s.decode.toFixed(0).padStart(6)} tok/s`;
    console.log(
      `${basename(path)}: ${promptTokens}-token prompt, ${gen} generated (median of ${repeats})`,
    );
    console.log(row(`llama.cpp CPU, ${threads} threads`, a));
    console.log(row(`WebGPU: ${webgpu.loaded.device}`.slice(0, 48), b));
    console.log(
      `  WebGPU / llama.cpp: prefill ×${(b.prefill / a.prefill).toFixed(3)}, decode ×${(b.decode / a.decode).toFixed(3)}`,
    );
  } finally {
    await Promise.all([llama.client.stop(), webgpu.client.stop()]);
  }
}

/** Same-top % and mean KLD of llama.cpp CPU with flash attention on vs off, over the fixture's ctx-128 chunks. */
async function floor(path: string): Promise<void> {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model: LlamaModel = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const ctx = 128;
  const sequence = async (flashAttention: boolean) =>
    (
      await model.createContext({ contextSize: ctx, batchSize: ctx, threads, flashAttention })
    ).getSequence();
  const on = await sequence(true);
  const off = await sequence(false);
  const tokens = [model.tokens.bos ?? 1, ...model.tokenize(TEXT)] as number[];
  const logprobs = async (seq: typeof on, chunk: number[]) => {
    await seq.clearHistory();
    const input = chunk.map((t, i) =>
      i < ctx / 2 || i === chunk.length - 1
        ? (t as Token)
        : ([t as Token, { generateNext: { probabilities: true } }] as const),
    );
    const out = await seq.controlledEvaluate(input as Parameters<typeof seq.controlledEvaluate>[0]);
    return out.flatMap((o) => {
      const p = o?.next?.probabilities;
      return p ? [new Map([...p].map(([id, pr]) => [id as number, Math.log(pr)]))] : [];
    });
  };
  let n = 0;
  let same = 0;
  let kld = 0;
  for (const chunk of perplexityChunks(tokens, ctx, model.tokens.bos)) {
    const a = await logprobs(on, chunk.tokens);
    const b = await logprobs(off, chunk.tokens);
    for (const [i, p] of a.entries()) {
      const q = b[i] as Map<number, number>;
      for (const [id, lp] of p) kld += Math.exp(lp) * (lp - (q.get(id) ?? -1e30));
      const top = (m: Map<number, number>) => [...m].reduce((x, y) => (y[1] > x[1] ? y : x))[0];
      same += top(p) === top(q) ? 1 : 0;
      n++;
    }
  }
  console.log(
    `  llama.cpp CPU flash attention on vs off: same top ${((100 * same) / n).toFixed(2)}%, mean KLD ${(kld / n).toExponential(2)} (n=${n})`,
  );
  await llama.dispose();
}

/** Tokens per second of `evaluate` over perplexity chunks of `ctx` (min and median of the repeats). */
async function evalSpeed(runner: RunnerClient, tokens: number[], bos: number | null, ctx: number) {
  const chunks = perplexityChunks(tokens, ctx, bos);
  const rates: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    const started = performance.now();
    let n = 0;
    for (const chunk of chunks) {
      await runner.request("evaluate", { ...chunk, topK }, 600_000);
      n += chunk.tokens.length;
    }
    if (r > 0) rates.push(n / ((performance.now() - started) / 1000));
  }
  return { min: Math.min(...rates), median: median(rates), chunks: chunks.length };
}

async function evalSpeeds(path: string, ctx: number): Promise<void> {
  const load: LoadParams = { model: path, backend: "cpu", contextSize: ctx, seed: 1, threads };
  const line = (label: string, s: { min: number; median: number }) =>
    `  ${label.padEnd(48)} evaluate min ${s.min.toFixed(0).padStart(6)} / median ${s.median.toFixed(0).padStart(6)} tok/s`;
  const llama = await startRunner(resolveRunner("cpu", undefined), load, 120_000);
  const all = (await llama.client.request("tokenize", { text: TEXT })).tokens;
  const tokens = values["eval-tokens"] ? all.slice(0, Number(values["eval-tokens"])) : all;
  const results: string[] = [];
  try {
    const a = await evalSpeed(llama.client, tokens, llama.loaded.bos, ctx);
    results.push(line(`llama.cpp CPU, ${threads} threads`, a));
  } finally {
    await llama.client.stop();
  }
  try {
    const webgpu = await startRunner(
      resolveRunner("webgpu", undefined),
      { ...load, backend: "webgpu" },
      120_000,
    );
    try {
      const b = await evalSpeed(webgpu.client, tokens, webgpu.loaded.bos, ctx);
      results.push(line(`WebGPU: ${webgpu.loaded.device}`.slice(0, 48), b));
    } finally {
      await webgpu.client.stop();
    }
  } catch (error) {
    results.push(`  WebGPU: ${(error as Error).message.split("\n")[0]}`);
  }
  console.log(
    `${basename(path)}: evaluate ${tokens.length} tokens in chunks of ${ctx}, top ${topK} per scored position (${repeats} repeats after a warm-up)`,
  );
  for (const r of results) console.log(r);
}

for (const path of models) {
  if (values["eval-ctx"]) {
    await evalSpeeds(path, Number(values["eval-ctx"]));
    continue;
  }
  if (!values["floor-only"]) await speeds(path);
  if (values.floor || values["floor-only"]) await floor(path);
}
