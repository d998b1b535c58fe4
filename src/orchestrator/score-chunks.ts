import type { RunnerClient } from "../runner-client/client.js";
import { type Chunk, nllSums } from "../scoring/perplexity.js";
import { type ChunkTopK, compareWithBaseline, packTopK, targetsOf } from "./topk.js";

export interface ScoredChunk {
  logprobs: Float32Array;
  topk?: ChunkTopK;
  kld?: Float32Array;
  sameTop?: Uint8Array;
}

/** Evaluates the chunks on one runner; with `topK` keeps the top-K, with `baseline` compares against it. */
export async function scoreChunks(
  runner: RunnerClient,
  chunks: readonly Chunk[],
  options: {
    topK: number;
    baseline?: readonly ScoredChunk[];
    onChunk?: (done: number, ppl: number) => void;
  },
): Promise<ScoredChunk[]> {
  const out: ScoredChunk[] = [];
  let nll = 0;
  let count = 0;
  for (const [i, chunk] of chunks.entries()) {
    const base = options.baseline?.[i]?.topk;
    const result = await runner.request("evaluate", {
      tokens: chunk.tokens,
      scoreFrom: chunk.scoreFrom,
      topK: base ? 1 : options.topK,
      ...(base ? { targets: targetsOf(base) } : {}),
    });
    const logprobs = Float32Array.from(result.scored.map((s) => s.logprob));
    const scored: ScoredChunk = { logprobs };
    if (base) Object.assign(scored, compareWithBaseline(base, result.scored));
    else if (options.topK > 0) scored.topk = packTopK(result.scored);
    out.push(scored);
    const sums = nllSums(Array.from(logprobs));
    nll += sums.nllSum;
    count += sums.count;
    options.onChunk?.(i + 1, Math.exp(nll / count));
  }
  return out;
}
