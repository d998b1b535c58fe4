/**
 * The protocol's `benchmark` for the llama.cpp runner, in llama-bench's shapes: a depth of random
 * tokens, then a timed prompt decoded in batches, then a timed run of greedy single-token
 * decodes. Through the native scorer where it is built (the decode steps in one C++ loop, as
 * llama-bench's `tg` decodes; it feeds random tokens, this the argmax), else through the
 * runner's node-llama-cpp sequence.
 */
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { BenchmarkParams, BenchmarkResult } from "../../src/runner-client/protocol.js";
import { randomTokens } from "../shared/random-tokens.js";
import { RunnerError } from "../shared/serve.js";
import type { NativeScorer } from "./native-scorer.js";

/** The part of the loaded model `benchmark` runs on. */
export interface BenchmarkState {
  model: LlamaModel;
  sequence: LlamaContextSequence;
  scorer?: NativeScorer | undefined;
  contextSize: number;
}

/** How one engine takes tokens: each call continues from what the one before it left. */
interface Steps {
  fill(tokens: Token[]): Promise<void>;
  /** `count` greedy single-token decodes, the first of `first`; how many were made. */
  decode(first: Token, count: number): Promise<number>;
}

export async function benchmark(
  state: BenchmarkState,
  params: BenchmarkParams,
): Promise<BenchmarkResult> {
  const { promptTokens, generateTokens, depth } = params;
  if (depth + promptTokens + generateTokens + 1 > state.contextSize) {
    throw new RunnerError(
      "CONTEXT_OVERFLOW",
      `depth ${depth} + prompt ${promptTokens} + generate ${generateTokens} exceeds the context of ${state.contextSize}`,
    );
  }
  const vocabulary = state.model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 256;
  const tokens = randomTokens(depth + promptTokens + 1, vocabulary, params.seed) as Token[];
  const steps = state.scorer ? nativeSteps(state.scorer) : await sequenceSteps(state.sequence);
  if (depth > 0) await steps.fill(tokens.slice(0, depth));
  let prefillMs = 0;
  if (promptTokens > 0) {
    const started = performance.now();
    await steps.fill(tokens.slice(depth, depth + promptTokens));
    prefillMs = performance.now() - started;
  }
  const started = performance.now();
  const first = tokens[depth + promptTokens] as Token;
  const generated = generateTokens > 0 ? await steps.decode(first, generateTokens) : 0;
  return {
    prefillMs,
    decodeMs: performance.now() - started,
    promptTokens,
    generatedTokens: generated,
  };
}

/** The native scorer's own context, cleared by its first call. */
function nativeSteps(scorer: NativeScorer): Steps {
  let fresh = true;
  return {
    fill: async (tokens) => {
      await scorer.greedy(tokens, fresh);
      fresh = false;
    },
    decode: async (first, count) => {
      await scorer.greedy([first], fresh, count);
      fresh = false;
      return count;
    },
  };
}

/** The runner's node-llama-cpp sequence, cleared first. */
async function sequenceSteps(sequence: LlamaContextSequence): Promise<Steps> {
  await sequence.clearHistory();
  return {
    fill: (tokens) => sequence.evaluateWithoutGeneratingNewTokens(tokens),
    decode: async (first, count) => {
      let made = 0;
      for await (const _ of sequence.evaluate([first], { temperature: 0 })) {
        if (++made >= count) break;
      }
      return made;
    },
  };
}
