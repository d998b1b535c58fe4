import { availableParallelism } from "node:os";
import type { LoadResult } from "../runner-client/protocol.js";
import { RunnerSession, type RunnerSpec } from "./runner-session.js";
import {
  checkSameTokens,
  type HashedChunk,
  type ScoredChunk,
  scoreChunk,
  scoreChunks,
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
  /**
   * Chunks per request where the runner has evaluateBatch (default 1: each chunk alone, as
   * llama-perplexity -b <ctx>; "auto": windowsPerBatch). Batched chunks are scored as parallel
   * sequences of one engine batch, which rounds differently.
   */
  batchChunks?: number | "auto";
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
    const { client, loaded, init } = await runners.runner();
    const tokenized = await tokenizeChunks(client, loaded, text, options.ctx);
    checkSameTokens(tokenized, options.baseline);
    options.onTokenized?.(tokenized);
    const started = performance.now();
    const scored: ScoredChunk[] = [];
    let nll = 0;
    let count = 0;
    // Exact KLD evaluates each chunk on two models in lockstep: one chunk per request.
    const perBatch =
      init.capabilities.includes("evaluate-batch") && !options.reference
        ? options.batchChunks === "auto"
          ? windowsPerBatch(options.ctx)
          : (options.batchChunks ?? 1)
        : 1;
    const { chunks } = tokenized;
    for (let i = 0; i < chunks.length; i += perBatch) {
      const group = chunks.slice(i, i + perBatch);
      const baselines = group.map((_, j) => options.baseline?.scored[i + j]);
      const chunkOptions = { topK: options.topK, reference: options.reference };
      const results =
        group.length > 1
          ? await scoreChunks(client, group, baselines, chunkOptions)
          : [
              await scoreChunk(client, group[0] as HashedChunk, {
                ...chunkOptions,
                baseline: baselines[0],
              }),
            ];
      for (const result of results) {
        scored.push(result);
        nll += result.sums.nllSum;
        count += result.sums.count;
        options.onChunk?.(scored.length, chunks.length, Math.exp(nll / count));
      }
    }
    const evalSeconds = (performance.now() - started) / 1000;
    return { ...tokenized, loaded, scored, evalSeconds };
  } finally {
    await runners.close();
  }
}

/**
 * Chunks per evaluateBatch: llama-perplexity's n_seq = n_batch / n_ctx at its default batch of
 * 2048 tokens (4 at ctx 512), at most one per CPU core (what a batch gains is its windows'
 * positions sampled in parallel, one core each; more windows than cores only add the KV and
 * logits of a sequence each: measured in docs/performance.md), at least 1, at most the runner's 16.
 */
export function windowsPerBatch(ctx: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(16, cores, Math.floor(2048 / ctx)));
}
