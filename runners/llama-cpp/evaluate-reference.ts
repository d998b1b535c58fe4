import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type {
  EvaluateParams,
  EvaluateResult,
  ScoredToken,
} from "../../src/runner-client/protocol.js";
import { RunnerError } from "../shared/serve.js";
import type { EvaluateState } from "./evaluate.js";
import { GREEDY } from "./evaluate.js";
import { denseLogits, type GridLogprobs, kldAgainstGrid, toGrid } from "./full-kld.js";
import type { NativeScorer } from "./native-scorer.js";

/**
 * `evaluate` with `reference: true`: the window goes through the reference model and then the
 * model, in lockstep on the same tokens, and each scored position gets KL(P_ref ‖ P) and
 * same-top over the whole vocabulary. Each position's full logits are reduced as they arrive
 * (the reference's to llama-perplexity's 16-bit grid), so no more than one window of grids is held.
 */
export async function evaluateWithReference(
  state: EvaluateState,
  params: EvaluateParams,
): Promise<EvaluateResult> {
  const reference = state.reference;
  if (!reference) {
    throw new RunnerError(
      "BAD_PARAMS",
      "evaluate with reference: load was given no reference model",
    );
  }
  if (params.topK > 0 || params.targets) {
    throw new RunnerError("BAD_PARAMS", "evaluate with reference takes no topK or targets");
  }
  const { tokens, scoreFrom } = params;
  const started = performance.now();
  const scored: ScoredToken[] = [];
  const natively = nativePair(state, tokens.length - scoreFrom);
  if (natively) {
    // The same decodes and the same float logits as below, without a map per position.
    const [mine, theirs] = natively;
    const window = { tokens, scoreFrom, decodeCount: tokens.length };
    const vocabulary = theirs.vocabularySize;
    if (mine.vocabularySize !== vocabulary) {
      throw new RunnerError(
        "BAD_PARAMS",
        `the reference model has ${vocabulary} tokens, this model ${mine.vocabularySize}`,
      );
    }
    // full-kld.ts's toGrid and kldAgainstGrid, in C++ on all cores: only the grids cross over.
    const grids = await theirs.grids(window);
    const own = await mine.kldAgainst(window, grids);
    for (let k = 0; k < tokens.length - scoreFrom; k++) {
      scored.push({
        logprob: own.logprob[k] as number,
        kld: own.kld[k] as number,
        sameTop: own.sameTop[k] === 1,
        referenceLogprob: grids.targetLogprob[k] as number,
      });
    }
    return { scored, evalMs: performance.now() - started };
  }
  const grids: Array<GridLogprobs | undefined> = [];
  await fullLogits(reference, tokens, scoreFrom, (i, logits) => {
    grids[i] = toGrid(logits, tokens[i + 1] as number);
  });
  await fullLogits(state.sequence, tokens, scoreFrom, (i, logits) => {
    const grid = grids[i];
    if (!grid) throw new RunnerError("INTERNAL", `no reference logits for position ${i}`);
    if (grid.levels.length !== logits.length) {
      throw new RunnerError(
        "BAD_PARAMS",
        `the reference model has ${grid.levels.length} tokens, this model ${logits.length}`,
      );
    }
    const { kld, sameTop, logprob } = kldAgainstGrid(grid, logits, tokens[i + 1] as number);
    scored[i - scoreFrom + 1] = { logprob, kld, sameTop, referenceLogprob: grid.targetLogprob };
    grids[i] = undefined;
  });
  return { scored, evalMs: performance.now() - started };
}

/**
 * The most logits one native call returns (scored positions × vocabulary): 256 MiB of floats,
 * beside the reference's grid at half that. A longer window goes node-llama-cpp's way, one
 * position's logits at a time.
 */
export const MAX_DENSE_LOGITS = 64 * 1024 * 1024;

/** Both native scorers (the model's and the reference's), where both exist and the window's logits fit. */
function nativePair(
  state: EvaluateState,
  positions: number,
): [NativeScorer, NativeScorer] | undefined {
  const { scorer, referenceScorer } = state;
  if (!scorer || !referenceScorer) return undefined;
  if (positions * referenceScorer.vocabularySize > MAX_DENSE_LOGITS) return undefined;
  return [scorer, referenceScorer];
}

/** Evaluates the window on one sequence and hands each scored position's dense logits to `use`. */
async function fullLogits(
  sequence: LlamaContextSequence,
  tokens: readonly number[],
  scoreFrom: number,
  use: (position: number, logits: Float32Array) => void,
): Promise<void> {
  await sequence.clearHistory();
  const generateNext = { logits: true as const, options: GREEDY };
  const input = tokens.map((token, i) =>
    i < scoreFrom - 1 || i === tokens.length - 1
      ? (token as Token)
      : ([token as Token, { generateNext }] as [Token, { generateNext: typeof generateNext }]),
  );
  let failure: unknown;
  let seen = 0;
  await sequence.controlledEvaluate(input, {
    onTokenResult: (i, output) => {
      const logits = output.next.logits;
      if (!logits || failure) return;
      try {
        use(i, denseLogits(logits, logits.size));
        seen++;
      } catch (error) {
        failure = error;
      }
      // The map holds the whole vocabulary: dropped at once rather than with the window's outputs.
      output.next.logits = undefined;
    },
  });
  if (failure) throw failure;
  if (seen !== tokens.length - scoreFrom) {
    throw new RunnerError(
      "INTERNAL",
      `logits for ${seen} of ${tokens.length - scoreFrom} positions`,
    );
  }
}
