/**
 * The protocol's optional `benchmark`: llama-bench's fixed shapes (random prompt tokens at a
 * depth, then greedy decode steps), with the same token generator as the llama.cpp runner.
 */
import type { BenchmarkParams, BenchmarkResult } from "../../src/runner-client/protocol.js";
import { randomTokens } from "../shared/random-tokens.js";
import { RunnerError } from "../shared/serve.js";
import { prefill, type Session } from "./session.js";

/** Runs `tokens` at positions pos0… into the KV cache and waits until the GPU has. */
async function fill(state: Session, tokens: number[], pos0: number): Promise<void> {
  const { graph } = state;
  for (let at = 0; at < tokens.length; at += graph.maxBatch) {
    graph.prefill(tokens.slice(at, at + graph.maxBatch), pos0 + at);
  }
  await graph.finished();
}

export async function benchmark(state: Session, params: BenchmarkParams): Promise<BenchmarkResult> {
  const { promptTokens, generateTokens, depth } = params;
  const { graph } = state;
  if (depth + promptTokens + generateTokens + 1 > graph.contextSize) {
    throw new RunnerError(
      "CONTEXT_OVERFLOW",
      `depth ${depth} + prompt ${promptTokens} + generate ${generateTokens} exceeds the context of ${graph.contextSize}`,
    );
  }
  const tokens = randomTokens(depth + promptTokens + 1, state.vocab, params.seed);
  if (depth > 0) await prefill(graph, tokens.slice(0, depth));
  let prefillMs = 0;
  if (promptTokens > 0) {
    const started = performance.now();
    await fill(state, tokens.slice(depth, depth + promptTokens), depth);
    prefillMs = performance.now() - started;
  }
  const started = performance.now();
  let token = tokens[depth + promptTokens] as number;
  for (let i = 0; i < generateTokens; i++) {
    token = await graph.nextToken([token], depth + promptTokens + i);
  }
  return {
    prefillMs,
    decodeMs: performance.now() - started,
    promptTokens,
    generatedTokens: generateTokens,
  };
}
