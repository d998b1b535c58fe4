import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import type {
  EvaluateBatchParams,
  EvaluateBatchResult,
  EvaluateParams,
  EvaluateResult,
  ScoredToken,
} from "../../src/runner-client/protocol.js";
import { RunnerError } from "../shared/serve.js";
import { evaluateWithReference } from "./evaluate-reference.js";
import type { NativeScorer, NativeScores } from "./native-scorer.js";

/** What `evaluate` needs of the loaded model: its sequence and the context the plan enforces. */
export interface EvaluateState {
  sequence: LlamaContextSequence;
  contextSize: number;
  /** The KLD baseline loaded beside the model (`load`'s `reference`), if any. */
  reference?: LlamaContextSequence | undefined;
  /** The native scorer beside `sequence`'s context, where it could be made (native-scorer.ts). */
  scorer?: NativeScorer | undefined;
}

/** What `evaluateBatch` needs besides: a context of `sequences` sequences of the loaded size. */
export interface BatchState {
  createContext: (sequences: number, size: number) => Promise<LlamaContext>;
  /** The sequences made so far (one context, re-made when a batch has more windows). */
  pool?: { context: LlamaContext; sequences: LlamaContextSequence[] };
  /**
   * A native scorer with the parameters of the context `createContext` makes (made from one, which
   * is then freed), or undefined where it cannot be made; only called when `evaluate` scores natively.
   */
  createScorer?: (sequences: number, size: number) => Promise<NativeScorer | undefined>;
  /** The native scorer made so far for `sequences` windows (re-made when a batch has more). */
  scorerPool?: { scorer: NativeScorer; sequences: number };
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

async function scorerFor(
  batch: BatchState,
  count: number,
  size: number,
): Promise<NativeScorer | undefined> {
  if (!batch.createScorer) return undefined;
  if (!batch.scorerPool || batch.scorerPool.sequences < count) {
    await batch.scorerPool?.scorer.dispose();
    batch.scorerPool = undefined;
    const scorer = await batch.createScorer(count, size);
    if (!scorer) {
      // Once refused, always refused: the JS path's pool from here on.
      batch.createScorer = undefined;
      return undefined;
    }
    batch.scorerPool = { scorer, sequences: count };
  }
  return batch.scorerPool.scorer;
}

/**
 * The windows as the JS path decodes them: one sequence each, all in one batch in window order
 * (node-llama-cpp's maximumParallelism queue when every window fits the batch, as they do here).
 */
async function evaluateBatchNative(
  scorer: NativeScorer,
  windows: readonly EvaluateParams[],
): Promise<EvaluateResult[]> {
  const started = performance.now();
  const packed = windows.map((window, sequence) => ({
    ...window,
    // A batch window fits the context: decoded whole.
    decodeCount: window.tokens.length,
    sequence,
  }));
  const scores = await scorer.score(packed);
  const evalMs = performance.now() - started;
  const offsets = { position: 0, top: 0, target: 0 };
  return windows.map((window) => ({
    scored: scoredOf(scores, window, offsets, scorer.vocabularySize),
    evalMs,
  }));
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

/** Tokens past the vocabulary go the JS path, which reports them as it always has. */
function fitsVocabulary(scorer: NativeScorer, tokens: readonly number[]): boolean {
  const size = scorer.vocabularySize;
  return tokens.every((token) => Number.isInteger(token) && token >= 0 && token < size);
}

/** How many tokens `evaluateOn` decodes: all, except the last of a context + 1 window. */
function decodedCount(sequence: LlamaContextSequence, tokens: readonly number[]): number {
  return tokens.length > sequence.contextSize ? tokens.length - 1 : tokens.length;
}

/** `evaluateOn`'s results, from the native scorer: the same decode and the same float figures. */
async function evaluateNative(
  scorer: NativeScorer,
  sequence: LlamaContextSequence,
  params: EvaluateParams,
): Promise<EvaluateResult> {
  const started = performance.now();
  const { tokens, scoreFrom, topK, targets } = params;
  const window = { tokens, scoreFrom, topK, targets, sequence: 0 };
  const scores = await scorer.score([{ ...window, decodeCount: decodedCount(sequence, tokens) }]);
  const offsets = { position: 0, top: 0, target: 0 };
  return {
    scored: scoredOf(scores, params, offsets, scorer.vocabularySize),
    evalMs: performance.now() - started,
  };
}

/**
 * One window's positions from the native scores, computed as `evaluateOn` computes them from
 * node-llama-cpp's figures (log Z = max + log weight, in JavaScript's arithmetic).
 */
function scoredOf(
  scores: NativeScores,
  params: EvaluateParams,
  offsets: { position: number; top: number; target: number },
  vocabularySize: number,
): ScoredToken[] {
  const { tokens, scoreFrom, topK, targets } = params;
  const topCount = Math.min(topK, vocabularySize);
  const scored: ScoredToken[] = [];
  for (let k = 0; k < tokens.length - scoreFrom; k++) {
    const at = offsets.position++;
    const logZ = (scores.max[at] as number) + Math.log(scores.weight[at] as number);
    const entry: ScoredToken = { logprob: (scores.actual[at] as number) - logZ };
    if (topK > 0) {
      entry.top = [];
      for (let j = 0; j < topCount; j++, offsets.top++) {
        entry.top.push([
          scores.topIds[offsets.top] as number,
          (scores.topLogits[offsets.top] as number) - logZ,
        ]);
      }
    }
    const wanted = targets?.[k];
    if (wanted)
      entry.targets = wanted.map(() => (scores.targets[offsets.target++] as number) - logZ);
    scored.push(entry);
  }
  return scored;
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
