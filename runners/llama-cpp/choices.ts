/**
 * scoreChoices for the llama.cpp runner, batched the way llama-perplexity's hellaswag_score
 * batches a task. Through the native scorer (native/scorer.cc), exactly so: one decode on one
 * unified KV cache, the context's tokens in every continuation's sequence (one set of cells) and
 * each continuation in its own, the log-softmax in C++. Where the native scorer cannot be made,
 * through node-llama-cpp, whose contexts keep one KV stream per sequence: the shared context is
 * decoded once in sequence 0 of a context with one sequence per continuation, its KV cache copied
 * to the others (llama.cpp's seq_cp), and all the continuations then decoded together as
 * parallel sequences of one batch. Either way an item's context is decoded once, whatever its
 * number of choices.
 */
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import type {
  ChoiceScore,
  ScoreChoicesParams,
  ScoreChoicesResult,
} from "../../src/runner-client/protocol.js";
import { checkChoiceParams } from "../shared/choice-params.js";
import { RunnerError } from "../shared/serve.js";
import type { NativeScorer, SharedCache } from "./native-scorer.js";

/** The part of the loaded model scoreChoices needs. */
export interface ChoicesState {
  contextSize: number;
  /** A context of the load's settings with `sequences` sequences of `size` tokens each. */
  createContext: (sequences: number, size: number) => Promise<LlamaContext>;
  /** The sequences made so far, reused by later items (one context, grown when an item needs more). */
  pool?: { context: LlamaContext; sequences: LlamaContextSequence[]; size: number };
  /**
   * A native scorer with one unified KV cache of that shape, or undefined where none can be made
   * (then node-llama-cpp's sequences score, from then on).
   */
  createScorer?: (cache: SharedCache) => NativeScorer | undefined;
  /** The native scorer made so far, reused while an item fits it. */
  scorerPool?: { scorer: NativeScorer; cache: SharedCache };
}

/** At least HellaSwag's four endings, so the common case never re-creates the context. */
const MIN_SEQUENCES = 4;
/**
 * Each sequence holds what the longest item so far needed, rounded up to a power of two from
 * this (llama.cpp's own minimum), not the load's whole context: every sequence has its own KV.
 */
const MIN_SIZE = 256;

/** Greedy selection is the argmax: the selected token is the most likely one. */
const GREEDY = { temperature: 0 };

type Next = { token?: Token | null; logits?: Map<Token, number>; totalLogitWeight?: number };

/**
 * node-llama-cpp 3.22's sequence-to-sequence KV copy (`llama_memory_seq_cp` plus the sequence's
 * own token bookkeeping): internal, not in its typings, so reached through this one cast.
 */
type CopyingSequence = LlamaContextSequence & {
  _copyStateFromOtherSequence(
    other: LlamaContextSequence,
    upToTokenIndex: number,
  ): Promise<boolean>;
};

export async function scoreChoices(
  state: ChoicesState,
  params: ScoreChoicesParams,
): Promise<ScoreChoicesResult> {
  const { context, continuations } = params;
  checkChoiceParams(params, state.contextSize);
  const started = performance.now();
  const scorer = await nativeScorerFor(state, context, continuations);
  if (scorer) {
    return {
      choices: await scoreNatively(scorer, context, continuations),
      evalMs: performance.now() - started,
    };
  }
  const longest = Math.max(...continuations.map((c) => c.length));
  const sequences = await sequencesFor(state, continuations.length, context.length + longest - 1);
  const [first] = sequences as [LlamaContextSequence];
  await first.clearHistory();
  const firsts = [...new Set(continuations.map((c) => c[0] as Token))];
  const input = context.map((token, i) =>
    i < context.length - 1 ? (token as Token) : withNext(token, firsts),
  );
  const outputs = await first.controlledEvaluate(input);
  const afterContext = outputs[context.length - 1]?.next;
  // The last token of a continuation is only scored, never evaluated.
  const bodies = continuations.map((c) => c.slice(0, -1));
  await Promise.all(
    bodies.map(async (body, i) => {
      if (i === 0 || body.length === 0) return;
      const copied = await (sequences[i] as CopyingSequence)._copyStateFromOtherSequence(
        first,
        context.length,
      );
      if (!copied) throw new RunnerError("INTERNAL", `could not copy the context to sequence ${i}`);
    }),
  );
  // Evaluations queued in the same tick go to the engine as one batch (node-llama-cpp's batching).
  // llama.cpp splits a batch of separate KV streams into ubatches of equal tokens per sequence,
  // so every body is padded to the longest (causal: a pad changes no earlier logit). Unpadded, a
  // longer body's tail went into a ubatch of its own, whose kernel shape moved that token's
  // log-prob by up to 1.6e-4 from a whole-sequence evaluate.
  const padTo = longest - 1;
  const evaluated = await Promise.all(
    bodies.map((body, i) => {
      if (body.length === 0) return Promise.resolve([]);
      const steps: Array<Token | ReturnType<typeof withNext>> = body.map((token, j) =>
        withNext(token, [continuations[i]?.[j + 1] as Token]),
      );
      for (let j = body.length; j < padTo; j++) steps.push(body.at(-1) as Token);
      return (sequences[i] as LlamaContextSequence).controlledEvaluate(steps);
    }),
  );
  const choices: ChoiceScore[] = continuations.map((continuation, i) => {
    const head = scoreOf(afterContext, continuation[0] as number, context.length - 1);
    const logprobs = [head.logprob];
    let greedy = head.greedy;
    const out = evaluated[i] ?? [];
    for (let j = 0; j < continuation.length - 1; j++) {
      const scored = scoreOf(out[j]?.next, continuation[j + 1] as number, context.length + j);
      logprobs.push(scored.logprob);
      greedy &&= scored.greedy;
    }
    return { logprobs, greedy };
  });
  return { choices, evalMs: performance.now() - started };
}

/**
 * The native scorer for an item: `continuations.length` sequences and a cache of all its tokens
 * (rounded up to a power of two from MIN_SIZE), re-made only when an item needs more. Undefined
 * where it cannot be made, or for tokens outside the vocabulary (the JS path reports those).
 */
async function nativeScorerFor(
  state: ChoicesState,
  context: readonly number[],
  continuations: readonly (readonly number[])[],
): Promise<NativeScorer | undefined> {
  if (!state.createScorer) return undefined;
  const tokens = context.length + continuations.reduce((n, c) => n + c.length, 0);
  const pool = state.scorerPool;
  if (!pool || pool.cache.sequences < continuations.length || pool.cache.contextSize < tokens) {
    await pool?.scorer.dispose();
    state.scorerPool = undefined;
    let contextSize = Math.max(MIN_SIZE, pool?.cache.contextSize ?? 0);
    while (contextSize < tokens) contextSize *= 2;
    const sequences = Math.max(MIN_SEQUENCES, continuations.length, pool?.cache.sequences ?? 0);
    const cache = { sequences, contextSize };
    const scorer = state.createScorer(cache);
    if (!scorer) {
      state.createScorer = undefined;
      return undefined;
    }
    state.scorerPool = { scorer, cache };
  }
  const { scorer } = state.scorerPool as { scorer: NativeScorer };
  const size = scorer.vocabularySize;
  const inVocabulary = (token: number) => Number.isInteger(token) && token >= 0 && token < size;
  if (!context.every(inVocabulary) || !continuations.every((c) => c.every(inVocabulary))) {
    return undefined;
  }
  return scorer;
}

/** The item's scores from the native scorer, finished as `scoreOf` finishes node-llama-cpp's. */
async function scoreNatively(
  scorer: NativeScorer,
  context: readonly number[],
  continuations: readonly (readonly number[])[],
): Promise<ChoiceScore[]> {
  const { max, weight, actual, argmax } = await scorer.choices(context, continuations);
  let k = 0;
  return continuations.map((continuation) => {
    const logprobs: number[] = [];
    let greedy = true;
    for (const token of continuation) {
      logprobs.push((actual[k] as number) - (max[k] as number) - Math.log(weight[k] as number));
      greedy &&= argmax[k] === token;
      k++;
    }
    return { logprobs, greedy };
  });
}

/** `count` sequences of `tokens` each, the context (re)made only when an item needs more. */
async function sequencesFor(
  state: ChoicesState,
  count: number,
  tokens: number,
): Promise<LlamaContextSequence[]> {
  const { pool } = state;
  if (pool && pool.sequences.length >= count && pool.size >= tokens) return pool.sequences;
  await pool?.context.dispose();
  state.pool = undefined;
  const number = Math.max(MIN_SEQUENCES, count, pool?.sequences.length ?? 0);
  let size = Math.max(MIN_SIZE, pool?.size ?? 0);
  while (size < tokens) size *= 2;
  size = Math.min(size, state.contextSize);
  const context = await state.createContext(number, size);
  const sequences = Array.from({ length: number }, () => context.getSequence());
  state.pool = { context, sequences, size };
  return sequences;
}

/** A token whose next-token logits are wanted for `tokens`, with the normaliser and the argmax. */
function withNext(token: number, tokens: Token[]) {
  const generateNext = {
    token: true,
    logits: { filter: { tokens, includeSelected: true } },
    totalLogitWeight: true,
    options: GREEDY,
  };
  return [token as Token, { generateNext }] as [Token, { generateNext: typeof generateNext }];
}

function scoreOf(
  next: Next | undefined,
  token: number,
  position: number,
): { logprob: number; greedy: boolean } {
  const logits = next?.logits;
  const weight = next?.totalLogitWeight;
  const actual = logits?.get(token as Token);
  if (!logits || weight === undefined || logits.size === 0 || actual === undefined) {
    throw new RunnerError("INTERNAL", `no logits returned for position ${position}`);
  }
  // The returned logits come sorted, the maximum first; the weight is Σ exp(logit − max).
  const max = logits.values().next().value as number;
  return { logprob: actual - max - Math.log(weight), greedy: next?.token === token };
}
