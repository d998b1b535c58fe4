import type { LoadResult } from "../runner-client/protocol.js";
import { RunnerSession, type RunnerSpec } from "./runner-session.js";
import {
  checkSameTokens,
  type ScoredChunk,
  scoreChunk,
  type TokenizedText,
  tokenizeChunks,
} from "./score-chunks.js";

/** One model's llama-perplexity pass over a text. */
export interface TextScores extends TokenizedText {
  loaded: LoadResult;
  scored: ScoredChunk[];
  evalSeconds: number;
}

export interface TextScoreOptions {
  ctx: number;
  /** Top-K kept per token: the baseline's, for a later KLD pass against it. */
  topK: number;
  /** Compared with: the same tokens are required (TOKENIZATION_MISMATCH otherwise). */
  baseline?: TextScores | undefined;
  /** Exact KLD: the spec's load names the baseline as `reference`, evaluated in lockstep. */
  reference?: boolean;
  /** After tokenizing, before any chunk is evaluated; may refuse the text by throwing. */
  onTokenized?: (text: TokenizedText) => void;
  /** After each chunk, with the perplexity so far. */
  onChunk?: (done: number, total: number, ppl: number) => void;
}

/** Starts the model's runner, scores every chunk of the text, and stops the runner. */
export async function scorePerplexityText(
  spec: RunnerSpec,
  text: string,
  options: TextScoreOptions,
): Promise<TextScores> {
  const runners = new RunnerSession(spec);
  try {
    const { client, loaded } = await runners.runner();
    const tokenized = await tokenizeChunks(client, loaded, text, options.ctx);
    checkSameTokens(tokenized, options.baseline);
    options.onTokenized?.(tokenized);
    const started = performance.now();
    const scored: ScoredChunk[] = [];
    let nll = 0;
    let count = 0;
    for (const [i, chunk] of tokenized.chunks.entries()) {
      const baseline = options.baseline?.scored[i];
      scored.push(
        await scoreChunk(client, chunk, {
          topK: options.topK,
          baseline,
          reference: options.reference,
        }),
      );
      nll += scored[i]?.sums.nllSum ?? 0;
      count += scored[i]?.sums.count ?? 0;
      options.onChunk?.(i + 1, tokenized.chunks.length, Math.exp(nll / count));
    }
    const evalSeconds = (performance.now() - started) / 1000;
    return { ...tokenized, loaded, scored, evalSeconds };
  } finally {
    await runners.close();
  }
}
