/**
 * Harness overhead, measured side by side on the same GGUF and threads: qbench's prefill and
 * decode TPS (the runner's benchmark method, llama-bench's shapes) vs `llama-bench` pp / tg, and
 * `qbench ppl` tokens/s vs `llama-perplexity`. Needs the llama.cpp tools built from the sources
 * inside node-llama-cpp (see test/fixtures/ppl/make-reference.sh); prints figures, asserts nothing.
 *
 *   node dist/bench/overhead.js [--tools /opt/llama.cpp-ref/build/bin] [--threads 1] [--model m.gguf] [--ctx 128] [--prompt 128] [--gen 64]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Token } from "node-llama-cpp";
import { resolveRunner } from "../src/runner-client/registry.js";
import { startRunner } from "../src/runner-client/start.js";
import { perplexityLogRate } from "./llama-perplexity-log.js";
import { readTokenizer, writeSyntheticLlama } from "./quantize.js";

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const tools = arg("--tools", "/opt/llama.cpp-ref/build/bin");
const threads = Number(arg("--threads", "1"));
const repeats = Number(arg("--repeats", "5"));
// llama-bench's shapes: pp128 / tg64 by default, `--prompt 512 --gen 128` for its own defaults.
const PROMPT = Number(arg("--prompt", "128"));
const GEN = Number(arg("--gen", "64"));
/** The context the prefill and decode shapes run in: 512, or what the prompt needs. */
const BENCH_CTX = Math.max(512, 256 * Math.ceil((PROMPT + GEN + 1) / 256));
const CTX = Number(arg("--ctx", "128"));
const work = "/tmp/qbench-bench";
const root = fileURLToPath(new URL("../../", import.meta.url));

async function model(): Promise<string> {
  const given = arg("--model", "");
  if (given) return given;
  const path = join(work, "synthetic-llama-8x512-f16.gguf");
  if (!existsSync(path)) {
    mkdirSync(work, { recursive: true });
    // Random weights: right for speed (the work per token is a real model's), meaningless for
    // quality; the tokenizer is stories260K's, so any text tokenizes as in a real model.
    const { metadata: tokenizer } = await readTokenizer(
      join(root, "models/stories260K/stories260K-f16.gguf"),
    );
    const shape = { layers: 8, dim: 512, ffn: 1536, heads: 8, kvHeads: 8, vocab: 512 };
    await writeSyntheticLlama(path, shape, "f16", 1234, tokenizer);
  }
  return path;
}

function llamaBench(path: string): { pp: number; tg: number } {
  const out = execFileSync(
    join(tools, "llama-bench"),
    [
      "-m",
      path,
      "-p",
      String(PROMPT),
      "-n",
      String(GEN),
      "-t",
      String(threads),
      "-r",
      String(repeats),
      "-o",
      "json",
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  const rows = JSON.parse(out) as Array<{ n_prompt: number; n_gen: number; avg_ts: number }>;
  return {
    pp: rows.find((r) => r.n_prompt === PROMPT && r.n_gen === 0)?.avg_ts ?? Number.NaN,
    tg: rows.find((r) => r.n_gen === GEN && r.n_prompt === 0)?.avg_ts ?? Number.NaN,
  };
}

async function qbenchBench(path: string): Promise<{ pp: number; tg: number }> {
  const { client } = await startRunner(
    resolveRunner("cpu", undefined),
    { model: path, backend: "cpu", contextSize: BENCH_CTX, seed: 1, threads },
    300_000,
  );
  try {
    const measure = async (promptTokens: number, generateTokens: number) => {
      const params = { promptTokens, generateTokens, depth: 0, seed: 1 };
      await client.request("benchmark", params);
      const rates: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const out = await client.request("benchmark", { ...params, seed: r + 2 });
        rates.push(
          promptTokens > 0
            ? (promptTokens * 1000) / out.prefillMs
            : (out.generatedTokens * 1000) / out.decodeMs,
        );
      }
      return rates.reduce((a, b) => a + b, 0) / rates.length;
    };
    return { pp: await measure(PROMPT, 0), tg: await measure(0, GEN) };
  } finally {
    await client.stop();
  }
}

/** The same engine binary with no harness at all: node-llama-cpp called in this process. */
async function directBench(path: string): Promise<{ pp: number; tg: number }> {
  const { getLlama } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, maxThreads: threads, build: "never" });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: BENCH_CTX,
    batchSize: BENCH_CTX,
    threads,
    flashAttention: true,
  });
  const sequence = context.getSequence();
  const tokens = Array.from({ length: PROMPT }, (_, i) => (3 + ((i * 37) % 500)) as Token);
  const pp: number[] = [];
  const tg: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    await sequence.clearHistory();
    const started = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(tokens);
    if (r > 0) pp.push((PROMPT * 1000) / (performance.now() - started));
    await sequence.clearHistory();
    let n = 0;
    const decodeStarted = performance.now();
    for await (const _ of sequence.evaluate([5 as Token], { temperature: 0 }))
      if (++n >= GEN) break;
    if (r > 0) tg.push((GEN * 1000) / (performance.now() - decodeStarted));
  }
  await llama.dispose();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { pp: mean(pp), tg: mean(tg) };
}

function perplexityText(): string {
  const path = join(work, "ppl-text.txt");
  // The project's own stories, repeated until there are enough chunks to time.
  const stories = readFileSync(join(root, "test/fixtures/ppl/stories.txt"), "utf8");
  writeFileSync(path, Array.from({ length: 4 }, () => stories).join("\n"));
  return path;
}

/**
 * llama-perplexity prints no rate: evaluated tokens over the time between its "calculating
 * perplexity over N chunks" and "Final estimate" log lines (timestamps M.SS.mmm.uuu). Its log goes
 * through a file: llama.cpp's asynchronous logger can lose its last lines on a pipe.
 */
function llamaPerplexityTps(path: string, text: string): number {
  const log = join(work, "llama-perplexity.log");
  const command = `"${join(tools, "llama-perplexity")}" -m "${path}" -f "${text}" -c ${CTX} -b ${CTX} -t ${threads} -dev none > "${log}" 2>&1`;
  execFileSync("sh", ["-c", command]);
  return perplexityLogRate(readFileSync(log, "utf8"), CTX).tps;
}

function qbenchPplTps(path: string, text: string): number {
  const out = execFileSync(
    process.execPath,
    [
      join(root, "bin/qbench.js"),
      "ppl",
      path,
      text,
      "--ctx",
      String(CTX),
      "--backend",
      "cpu",
      "--threads",
      String(threads),
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return (JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { tokens_per_second: number })
    .tokens_per_second;
}

async function main(): Promise<void> {
  if (!existsSync(join(tools, "llama-bench"))) {
    process.stderr.write(
      `no llama-bench in ${tools}: build it first (see test/fixtures/ppl/make-reference.sh)\n`,
    );
    process.exit(2);
  }
  const path = await model();
  const text = perplexityText();
  process.stderr.write(`model ${path}, ${threads} thread(s), ${repeats} repeats\n`);
  // Interleave the tools so that background load hits both alike.
  const ref = llamaBench(path);
  const ours = await qbenchBench(path);
  const direct = await directBench(path);
  const refPpl = llamaPerplexityTps(path, text);
  const oursPpl = qbenchPplTps(path, text);
  // qbench / direct is the harness's own cost (same engine binary); direct / llama.cpp is the
  // difference between node-llama-cpp's prebuilt binary and a native build of the same sources.
  const rows: Array<[string, number, number, number, number]> = [
    [`prefill (pp${PROMPT}) tok/s`, ours.pp, direct.pp, ref.pp, 0.97],
    [`decode (tg${GEN}) tok/s`, ours.tg, direct.tg, ref.tg, 0.97],
    [`perplexity (ctx ${CTX}) tok/s`, oursPpl, Number.NaN, refPpl, 0.95],
  ];
  process.stdout.write(
    "figure                         qbench  node-llama-cpp  llama.cpp  qbench/direct  qbench/llama.cpp (goal)\n",
  );
  for (const [name, q, d, l, goal] of rows) {
    const cell = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—");
    const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? (a / b).toFixed(3) : "—");
    process.stdout.write(
      `${name.padEnd(30)} ${cell(q).padStart(7)} ${cell(d).padStart(15)} ${cell(l).padStart(10)} ${ratio(q, d).padStart(14)} ${ratio(q, l).padStart(17)} (≥ ${goal})\n`,
    );
  }
}

await main();
