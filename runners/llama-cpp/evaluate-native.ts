import type { LlamaContextSequence } from "node-llama-cpp";
import type {
  EvaluateParams,
  EvaluateResult,
  ScoredToken,
} from "../../src/runner-client/protocol.js";
import type { NativeScorer, NativeScores } from "./native-scorer.js";

/** What `evaluateBatch` keeps of the native scorer: how to make one, and the one made so far. */
export interface NativeBatchState {
  /**
   * A native scorer with the parameters of the JS path's batch context (made from one, which is
   * then freed), or undefined where it cannot be made; only called when `evaluate` scores natively.
   */
  createScorer?: (sequences: number, size: number) => Promise<NativeScorer | undefined>;
  /** The native scorer made so far for `sequences` windows (re-made when a batch has more). */
  scorerPool?: { scorer: NativeScorer; sequences: number };
}

export async function scorerFor(
  batch: NativeBatchState,
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
export async function evaluateBatchNative(
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

/** Tokens past the vocabulary go the JS path, which reports them as it always has. */
export function fitsVocabulary(scorer: NativeScorer, tokens: readonly number[]): boolean {
  const size = scorer.vocabularySize;
  return tokens.every((token) => Number.isInteger(token) && token >= 0 && token < size);
}

/** How many tokens `evaluateOn` decodes: all, except the last of a context + 1 window. */
export function decodedCount(sequence: LlamaContextSequence, tokens: readonly number[]): number {
  return tokens.length > sequence.contextSize ? tokens.length - 1 : tokens.length;
}

/** `evaluateOn`'s results, from the native scorer: the same decode and the same float figures. */
export async function evaluateNative(
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
