import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import type {
  EvaluateBatchParams,
  EvaluateBatchResult,
  EvaluateParams,
  EvaluateResult,
  ScoredToken,
} from "../../src/runner-client/protocol.js";
import { RunnerError } from "../shared/serve.js";
import {
  decodedCount,
  evaluateBatchNative,
  evaluateNative,
  fitsVocabulary,
  type NativeBatchState,
  scorerFor,
} from "./evaluate-native.js";
import { evaluateWithReference } from "./evaluate-reference.js";
import type { NativeScorer } from "./native-scorer.js";

/** What `evaluate` needs of the loaded model: its sequence and the context the plan enforces. */
export interface EvaluateState {
  sequence: LlamaContextSequence;
  contextSize: number;
  /** The KLD baseline loaded beside the model (`load`'s `reference`), if any. */
  reference?: LlamaContextSequence | undefined;
  /** The native scorer beside `sequence`'s context, where it could be made (native-scorer.ts). */
  scorer?: NativeScorer | undefined;
  /** The native scorer beside the reference's context (exact KLD), where it could be made. */
  referenceScorer?: NativeScorer | undefined;
}

/** What `evaluateBatch` needs besides: a context of `sequences` sequences of the loaded size. */
export interface BatchState extends NativeBatchState {
  createContext: (sequences: number, size: number) => Promise<LlamaContext>;
  /** The sequences made so far (one context, re-made when a batch has more windows). */
  pool?: { context: LlamaContext; sequences: LlamaContextSequence[] };
}

/**
 * The most windows one `evaluateBatch` takes: llama-perplexity's n_seq at its default batch of
 * 2048 tokens and the smallest context qbench scores with (128); each sequence has its own KV.
 */
export const MAX_BATCH_WINDOWS = 16;

/**
 * Several windows side by side, one sequence each: queued in the same tick, node-llama-cpp
 * decodes them as one batch and samples their positions in parallel (one chain per sequence,
 * on its worker threads), where one window at a time samples its positions one after another.
 * Each window's results are what `evaluate` gives for it. With the native scorer, the windows are
 * decoded the same way (one sequence each, one batch) on its own context and reduced in C++.
 */
export async function evaluateBatch(
  state: EvaluateState,
  batch: BatchState,
  params: EvaluateBatchParams,
): Promise<EvaluateBatchResult> {
  const { windows } = params;
  if (!Array.isArray(windows) || windows.length < 1 || windows.length > MAX_BATCH_WINDOWS) {
    throw new RunnerError(
      "BAD_PARAMS",
      `windows must list 1 to ${MAX_BATCH_WINDOWS} windows, got ${Array.isArray(windows) ? windows.length : typeof windows}`,
    );
  }
  for (const [i, window] of windows.entries()) {
    if (window.reference) {
      throw new RunnerError("BAD_PARAMS", `windows[${i}]: evaluateBatch takes no reference`);
    }
    try {
      checkWindow(state, window);
    } catch (error) {
      if (error instanceof RunnerError) {
        throw new RunnerError(error.code, `windows[${i}]: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  const started = performance.now();
  if (windows.length === 1) {
    const result = await evaluate(state, windows[0] as EvaluateParams);
    return { results: [result], evalMs: result.evalMs };
  }
  const scorer = state.scorer
    ? await scorerFor(batch, windows.length, state.contextSize)
    : undefined;
  if (scorer && windows.every((window) => fitsVocabulary(scorer, window.tokens))) {
    return {
      results: await evaluateBatchNative(scorer, windows),
      evalMs: performance.now() - started,
    };
  }
  const sequences = await sequencesFor(batch, windows.length, state.contextSize);
  const results = await Promise.all(
    windows.map((window, i) => evaluateOn(sequences[i] as LlamaContextSequence, window)),
  );
  return { results, evalMs: performance.now() - started };
}

async function sequencesFor(
  batch: BatchState,
  count: number,
  size: number,
): Promise<LlamaContextSequence[]> {
  if (!batch.pool || batch.pool.sequences.length < count) {
    await batch.pool?.context.dispose();
    batch.pool = undefined;
    const context = await batch.createContext(count, size);
    const sequences = Array.from({ length: count }, () => context.getSequence());
    batch.pool = { context, sequences };
  }
  return batch.pool.sequences;
}

/** Scores tokens of one window: log-prob of each actual next token, the top K and any targets. */
export async function evaluate(
  state: EvaluateState,
  params: EvaluateParams,
): Promise<EvaluateResult> {
  // The last token is only scored, never decoded (its own logits are not asked), so a window
  // may hold one token more than the context: lm-eval's rolling window, max_length + 1 tokens.
  checkWindow(state, params, params.reference ? 0 : 1);
  if (params.reference) return evaluateWithReference(state, params);
  if (state.scorer && fitsVocabulary(state.scorer, params.tokens)) {
    return evaluateNative(state.scorer, state.sequence, params);
  }
  return evaluateOn(state.sequence, params);
}

/** One checked window on one sequence. */
async function evaluateOn(
  sequence: LlamaContextSequence,
  params: EvaluateParams,
): Promise<EvaluateResult> {
  const { tokens, scoreFrom, topK, targets } = params;
  const started = performance.now();
  await sequence.clearHistory();
  // Logits for the actual next token (plus the top K and any targets) and the softmax
  // normaliser, rather than full probability maps: the same log-probabilities at about half the cost.
  const input = tokens.map((token, i) => {
    const next = tokens[i + 1];
    if (i < scoreFrom - 1 || next === undefined) return token as Token;
    const extra = (targets?.[i - scoreFrom + 1] ?? []) as Token[];
    // The normaliser (and a top-1) needs the maximum logit. Greedy sampling selects it without
    // sorting the vocabulary, so perplexity and the variant's KLD pass ask for the selected
    // token; only the baseline's top-K needs the sort.
    const filter =
      topK <= 1
        ? { tokens: [next as Token, ...extra], includeSelected: true }
        : { tokens: [next as Token, ...extra], includeTop: topK, includeMax: true };
    const generateNext = { logits: { filter }, totalLogitWeight: true, options: GREEDY };
    return [token as Token, { generateNext }] as [Token, { generateNext: typeof generateNext }];
  });
  // A window of context + 1 tokens (lm-eval's rolling window) leaves its last token undecoded: it
  // is only scored. A window that fits is decoded whole, as llama-perplexity decodes a chunk (the
  // batch's shape decides how the CPU kernels round: one token fewer moves stories260K Q4_0's
  // ctx-64 perplexity from 4.9115 to 4.9168 on an AVX2 CPU).
  const decoded = input.slice(0, decodedCount(sequence, tokens));
  const outputs = await sequence.controlledEvaluate(decoded);
  const scored: ScoredToken[] = [];
  for (let i = scoreFrom - 1; i < tokens.length - 1; i++) {
    const next = outputs[i]?.next;
    const logits = next?.logits;
    const weight = next?.totalLogitWeight;
    const actual = logits?.get(tokens[i + 1] as Token);
    if (!logits || weight === undefined || logits.size === 0 || actual === undefined) {
      throw new RunnerError("INTERNAL", `no logits returned for position ${i}`);
    }
    // The returned logits come sorted, the maximum first; the weight is Σ exp(logit − max).
    const logZ = (logits.values().next().value as number) + Math.log(weight);
    const entry: ScoredToken = { logprob: actual - logZ };
    if (topK > 0) {
      entry.top = [];
      for (const [id, logit] of logits) {
        if (entry.top.length >= topK) break;
        entry.top.push([id, logit - logZ]);
      }
    }
    const wanted = targets?.[i - scoreFrom + 1];
    if (wanted) entry.targets = wanted.map((id) => (logits.get(id as Token) ?? Number.NaN) - logZ);
    scored.push(entry);
  }
  return { scored, evalMs: performance.now() - started };
}

/**
 * The window fits the context (with `spare` tokens more that are scored, not decoded), scoreFrom
 * is in range, and targets has one list per position.
 */
export function checkWindow(state: EvaluateState, params: EvaluateParams, spare = 0): void {
  const { tokens, scoreFrom, targets } = params;
  if (tokens.length > state.contextSize + spare) {
    throw new RunnerError(
      "CONTEXT_OVERFLOW",
      `${tokens.length - spare} tokens to evaluate; the context holds ${state.contextSize}`,
    );
  }
  if (!Number.isInteger(scoreFrom) || scoreFrom < 1 || scoreFrom > tokens.length) {
    throw new RunnerError("BAD_PARAMS", `scoreFrom must be in [1, ${tokens.length}]`);
  }
  if (targets && targets.length !== tokens.length - scoreFrom) {
    throw new RunnerError(
      "BAD_PARAMS",
      `targets must have one list per scored position (${tokens.length - scoreFrom})`,
    );
  }
}

/** Greedy selection is the argmax: the maximum logit without a sort of the vocabulary. */
export const GREEDY = { temperature: 0 };
