/**
 * Perplexity by llama-perplexity's method: the text is tokenized once with BOS, cut into
 * chunks of `ctx` tokens whose first token becomes BOS, and only the second half of each chunk
 * is scored (tokens first+1 … ctx-1 with first = ctx/2), so every scored token has at least
 * ctx/2 tokens of context.
 */

export interface Chunk {
  /** The tokens to evaluate, first replaced by BOS when the model uses one. */
  tokens: number[];
  /** Index of the first token whose log-probability counts. */
  scoreFrom: number;
}

export function perplexityChunks(
  tokens: readonly number[],
  ctx: number,
  bos: number | null,
): Chunk[] {
  if (!Number.isInteger(ctx) || ctx < 4)
    throw new RangeError(`ctx must be an integer ≥ 4, got ${ctx}`);
  const count = Math.floor(tokens.length / ctx);
  const first = Math.floor(ctx / 2);
  const chunks: Chunk[] = [];
  for (let c = 0; c < count; c++) {
    const chunk = tokens.slice(c * ctx, (c + 1) * ctx);
    if (bos !== null) chunk[0] = bos;
    chunks.push({ tokens: chunk, scoreFrom: first + 1 });
  }
  return chunks;
}

/** Sums over one chunk's scored tokens, as stored per item. */
export interface NllSums {
  nllSum: number;
  nll2Sum: number;
  count: number;
}

export function nllSums(logprobs: readonly number[]): NllSums {
  let nllSum = 0;
  let nll2Sum = 0;
  for (const lp of logprobs) {
    nllSum -= lp;
    nll2Sum += lp * lp;
  }
  return { nllSum, nll2Sum, count: logprobs.length };
}

export interface PerplexityEstimate {
  ppl: number;
  /** llama-perplexity's ± : the standard error of the mean NLL, times ppl. */
  pplError: number;
  meanNll: number;
  tokens: number;
}

/** Combines chunk sums into ppl = exp(mean NLL) with llama-perplexity's uncertainty. */
export function combinePerplexity(parts: readonly NllSums[]): PerplexityEstimate {
  let nll = 0;
  let nll2 = 0;
  let count = 0;
  for (const p of parts) {
    nll += p.nllSum;
    nll2 += p.nll2Sum;
    count += p.count;
  }
  if (count === 0) return { ppl: Number.NaN, pplError: Number.NaN, meanNll: Number.NaN, tokens: 0 };
  const meanNll = nll / count;
  const ppl = Math.exp(meanNll);
  const variance = nll2 / count - meanNll * meanNll;
  const pplError = variance > 0 && count > 1 ? Math.sqrt(variance / (count - 1)) * ppl : 0;
  return { ppl, pplError, meanNll, tokens: count };
}

/** llama-perplexity's `-f` drops exactly one trailing newline before tokenizing; so do we. */
export function perplexityText(fileText: string): string {
  return fileText.endsWith("\n") ? fileText.slice(0, -1) : fileText;
}
