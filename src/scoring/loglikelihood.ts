/**
 * lm-evaluation-harness's loglikelihood_rolling windows and its per-document counts (revision
 * 4e7e0d47: lm_eval/utils.py `get_rolling_token_windows`, `make_disjoint_window`;
 * lm_eval/api/task.py `count_words`, `count_bytes`; lm_eval/api/metrics.py aggregations).
 */

/** One window: tokens the model conditions on, then the tokens it scores. */
export interface Window {
  context: number[];
  continuation: number[];
}

/**
 * Every token of `tokens` predicted once, in windows of at most `maxSeqLen` inputs: the first
 * after `prefix`, each later one after the tokens before it (context_len = 1, as lm-eval calls
 * it), made disjoint so the context stops where the scored tokens start.
 */
export function rollingWindows(
  tokens: readonly number[],
  prefix: number,
  maxSeqLen: number,
): Window[] {
  if (maxSeqLen < 1) throw new RangeError("maxSeqLen must be at least 1");
  const windows: Window[] = [];
  if (tokens.length === 0) return windows;
  const contextLen = 1;
  const predLen = maxSeqLen - contextLen + 1;
  let predicted = 0;
  const firstSeqLen = Math.min(maxSeqLen, tokens.length);
  windows.push(
    disjoint([prefix, ...tokens.slice(0, firstSeqLen - 1)], tokens.slice(0, firstSeqLen)),
  );
  predicted += firstSeqLen;
  while (predicted < tokens.length) {
    const windowPredLen = Math.min(tokens.length - predicted, predLen);
    const windowEnd = predicted + windowPredLen;
    windows.push(
      disjoint(
        pySlice(tokens, windowEnd - maxSeqLen - 1, windowEnd - 1),
        tokens.slice(windowEnd - windowPredLen, windowEnd),
      ),
    );
    predicted += windowPredLen;
  }
  return windows;
}

/** make_disjoint_window: a[: len(a) - (len(b) - 1)], b. */
function disjoint(a: number[], b: number[]): Window {
  return { context: a.slice(0, a.length - (b.length - 1)), continuation: b };
}

/** Python's list[start:end] with negative indices counted from the end. */
function pySlice(list: readonly number[], start: number, end: number): number[] {
  const at = (i: number) => (i < 0 ? Math.max(0, list.length + i) : Math.min(i, list.length));
  return list.slice(at(start), at(end));
}

/** count_words: len(re.split(r"\s+", doc)) — an empty split at either end counts, as in Python. */
export function countWords(doc: string): number {
  return doc.split(/\s+/u).length;
}

export function countBytes(doc: string): number {
  return Buffer.byteLength(doc, "utf8");
}

/** The rolling suite's figures from summed log-likelihood, words and bytes. */
export function rollingFigures(ll: number, words: number, bytes: number) {
  return {
    word_perplexity: Math.exp(-ll / words),
    byte_perplexity: Math.exp(-ll / bytes),
    bits_per_byte: -ll / bytes / Math.LN2,
  };
}
