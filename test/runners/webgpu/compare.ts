/**
 * The WebGPU runner against the llama.cpp runner (CPU) on one file: ~1,900 positions of the
 * perplexity fixture text in ctx chunks (llama-perplexity's second halves, or every position of
 * half the chunks: `Positions`), KLD from all of the vocabulary's log-probabilities, and greedy
 * continuations of story openings.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunnerClient } from "../../../src/runner-client/client.js";
import type { LoadParams } from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { type StartedRunner, startRunner } from "../../../src/runner-client/start.js";
import { klDivergence, summarizeKld } from "../../../src/scoring/kld.js";
import {
  combinePerplexity,
  nllSums,
  perplexityChunks,
  perplexityText,
} from "../../../src/scoring/perplexity.js";
import { ROOT } from "../../support/paths.js";

export const FIXTURES = join(ROOT, "test/fixtures/ppl");

/** Story openings the kernels were never tuned on. */
export const PROMPTS = [
  "Once upon a time",
  "The little dog",
  "Tom and Sue went to the",
  "One day, a big bird",
  "Mom said",
  "The sun was hot and",
  "There was a girl who loved",
  "In the park, the boys",
  "Ben had a red ball.",
  "The cat was sad because",
  "Lucy wanted to bake a cake",
  "A tiny frog lived",
  "The old man smiled and",
  "It was a rainy day, so",
  "Max found a shiny key",
  "The teacher asked the class",
];

/**
 * The llama.cpp runner (CPU) and the WebGPU runner on the same load, started side by side; if
 * either fails to start, the other is stopped before the error is thrown.
 */
export async function startPair(
  load: LoadParams,
  timeoutMs: number,
): Promise<{ ref: StartedRunner; gpu: StartedRunner }> {
  const [ref, gpu] = await Promise.allSettled([
    startRunner(resolveRunner("cpu", undefined), { ...load, backend: "cpu" }, timeoutMs),
    startRunner(resolveRunner("webgpu", undefined), { ...load, backend: "webgpu" }, timeoutMs),
  ]);
  if (ref.status === "fulfilled" && gpu.status === "fulfilled") {
    return { ref: ref.value, gpu: gpu.value };
  }
  for (const r of [ref, gpu]) if (r.status === "fulfilled") await r.value.client.stop();
  throw ref.status === "rejected" ? ref.reason : (gpu as PromiseRejectedResult).reason;
}

/**
 * Which positions are compared. `second-halves`: llama-perplexity's, the second half of every
 * ctx chunk (1,890 of the fixture text at ctx 128), for a perplexity set beside its figure.
 * `all`: every position of the first half of the chunks (1,905 at ctx 128): as many positions
 * for half the forward work, where the comparison is with the llama.cpp runner alone.
 */
export type Positions = "second-halves" | "all";

async function scoreAll(
  runner: RunnerClient,
  tokens: number[],
  bos: number | null,
  options: { ctx: number; vocab: number; positions: Positions },
) {
  const { ctx, vocab, positions } = options;
  const logprobs: number[] = [];
  const dists: Map<number, number>[] = [];
  const chunks = perplexityChunks(tokens, ctx, bos);
  const wanted =
    positions === "all"
      ? chunks.slice(0, Math.ceil(chunks.length / 2)).map((c) => ({ ...c, scoreFrom: 1 }))
      : chunks;
  for (const chunk of wanted) {
    const out = await runner.request("evaluate", { ...chunk, topK: vocab }, 120_000);
    for (const s of out.scored) {
      logprobs.push(s.logprob);
      dists.push(new Map(s.top ?? []));
    }
  }
  return { logprobs, dists };
}

export interface Agreement {
  n: number;
  sameTopPct: number;
  meanKld: number;
  /** Perplexity of the WebGPU runner and of the llama.cpp runner over the same positions. */
  ppl: number;
  llamaPpl: number;
  greedyIdentical: number;
  prompts: number;
}

/** Runs both runners on `path` (same tokenization asserted) and measures their agreement. */
export async function compareWithLlamaCpp(
  path: string,
  options: {
    ctx: number;
    vocab: number;
    positions?: Positions;
    prompts?: string[];
    maxTokens?: number;
  },
): Promise<Agreement> {
  const { ctx, vocab } = options;
  const scoring = { ctx, vocab, positions: options.positions ?? "second-halves" };
  const prompts = options.prompts ?? PROMPTS;
  const load: LoadParams = { model: path, backend: "cpu", contextSize: ctx, seed: 1, threads: 1 };
  const { ref, gpu } = await startPair(load, 60_000);
  try {
    const text = perplexityText(readFileSync(join(FIXTURES, "stories.txt"), "utf8"));
    const { tokens } = await ref.client.request("tokenize", { text });
    assert.deepEqual((await gpu.client.request("tokenize", { text })).tokens, tokens);
    // The two runners side by side: llama.cpp takes one thread, llvmpipe the rest.
    const [base, ours] = await Promise.all([
      scoreAll(ref.client, tokens, ref.loaded.bos, scoring),
      scoreAll(gpu.client, tokens, gpu.loaded.bos, scoring),
    ]);
    const kld: number[] = [];
    const sameTop: number[] = [];
    for (const [i, p] of base.dists.entries()) {
      const q = ours.dists[i] as Map<number, number>;
      const ids = [...p.keys()];
      kld.push(
        klDivergence(
          ids.map((id) => p.get(id) as number),
          ids.map((id) => q.get(id) ?? -1e30),
        ),
      );
      sameTop.push(ids[0] === q.keys().next().value ? 1 : 0);
    }
    const summary = summarizeKld(kld, sameTop);
    let greedyIdentical = 0;
    for (const prompt of prompts) {
      const params = { prompt, maxTokens: options.maxTokens ?? 32, stop: [], temperature: 0 };
      const [a, b] = await Promise.all([
        ref.client.request("generate", params),
        gpu.client.request("generate", params),
      ]);
      if (a.text === b.text) greedyIdentical++;
    }
    return {
      n: summary.n,
      sameTopPct: summary.sameTopPct,
      meanKld: summary.meanKld,
      ppl: combinePerplexity([nllSums(ours.logprobs)]).ppl,
      llamaPpl: combinePerplexity([nllSums(base.logprobs)]).ppl,
      greedyIdentical,
      prompts: prompts.length,
    };
  } finally {
    await Promise.all([ref.client.stop(), gpu.client.stop()]);
  }
}

export interface VocabAgreement {
  vocabularySize: number;
  /** Whether both runners tokenized the multilingual fixture text alike. */
  sameTokens: boolean;
  tokens: number;
  n: number;
  sameTop: number;
  /** Largest |Δ log p| of the actual next token. */
  worst: number;
}

/**
 * The two runners on a file with a real (large) vocabulary: the multilingual fixture's ids,
 * then the first `ctx` of them evaluated (top-8 and the actual token's log-probability).
 */
export async function compareOnOwnVocabulary(path: string, ctx: number): Promise<VocabAgreement> {
  const load: LoadParams = { model: path, backend: "cpu", contextSize: ctx, seed: 1, threads: 1 };
  const { ref, gpu } = await startPair(load, 120_000);
  try {
    const text = readFileSync(join(ROOT, "test/fixtures/tokenizer/multilingual.txt"), "utf8");
    const all = (await ref.client.request("tokenize", { text })).tokens;
    const ours = (await gpu.client.request("tokenize", { text })).tokens;
    const params = { tokens: all.slice(0, ctx), scoreFrom: 1, topK: 8 };
    // Side by side, as in compareWithLlamaCpp: llama.cpp takes one thread, llvmpipe the rest.
    const [a, b] = await Promise.all([
      ref.client.request("evaluate", params, 600_000),
      gpu.client.request("evaluate", params, 600_000),
    ]);
    let sameTop = 0;
    let worst = 0;
    for (const [i, s] of a.scored.entries()) {
      const o = b.scored[i];
      if (o?.top?.[0]?.[0] === s.top?.[0]?.[0]) sameTop++;
      worst = Math.max(worst, Math.abs((o?.logprob ?? Number.NaN) - s.logprob));
    }
    return {
      vocabularySize: gpu.loaded.vocabularySize,
      sameTokens: all.length === ours.length && all.every((id, i) => id === ours[i]),
      tokens: all.length,
      n: a.scored.length,
      sameTop,
      worst,
    };
  } finally {
    await Promise.all([ref.client.stop(), gpu.client.stop()]);
  }
}
