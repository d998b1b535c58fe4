/**
 * Multiple-choice scoring, as lm-evaluation-harness and llama-perplexity define it: pure
 * functions from token ids and log-probabilities to picks and accuracies. Sources, by the
 * revision read (lm-evaluation-harness 4e7e0d47, llama.cpp as bundled by node-llama-cpp):
 * lm_eval/api/model.py `_encode_pair`, lm_eval/api/task.py `process_results` (multiple_choice),
 * tools/perplexity/perplexity.cpp `hellaswag_score` and `winogrande_score`.
 */

/** Token sequences whose tokens from `from` on are scored (each after all before it). */
export interface ScoredSequence {
  tokens: readonly number[];
  from: number;
}

/** One shared context and the continuations that go on from it (the runner's scoreChoices). */
export interface SharedPlan {
  context: number[];
  continuations: number[][];
  /** Per sequence: its continuation, and where its scored tokens start in it. */
  spans: Array<{ continuation: number; offset: number; count: number }>;
}

/**
 * The longest prefix every sequence shares and that none scores, evaluated once; each sequence
 * continues from it, and one that is a prefix of another's continuation reuses that one.
 */
export function planShared(sequences: readonly ScoredSequence[]): SharedPlan {
  if (sequences.length === 0) throw new RangeError("no sequences to score");
  let shared = Math.min(...sequences.map((s) => s.from));
  const first = sequences[0]?.tokens ?? [];
  for (const s of sequences) {
    let k = 0;
    while (k < shared && k < s.tokens.length && s.tokens[k] === first[k]) k++;
    shared = k;
  }
  if (shared < 1) throw new RangeError("the sequences share no first token to score from");
  const continuations: number[][] = [];
  const order = sequences
    .map((_, i) => i)
    .sort((a, b) => lengthOf(sequences, b) - lengthOf(sequences, a));
  const spans: SharedPlan["spans"] = new Array(sequences.length);
  for (const i of order) {
    const s = sequences[i] as ScoredSequence;
    const tail = s.tokens.slice(shared);
    if (tail.length === 0 || s.from >= s.tokens.length) {
      throw new RangeError(`sequence ${i} has no token to score`);
    }
    let at = continuations.findIndex((c) => tail.every((t, k) => c[k] === t));
    if (at < 0) at = continuations.push(tail) - 1;
    spans[i] = { continuation: at, offset: s.from - shared, count: s.tokens.length - s.from };
  }
  return { context: first.slice(0, shared), continuations, spans };
}

function lengthOf(sequences: readonly ScoredSequence[], i: number): number {
  return sequences[i]?.tokens.length ?? 0;
}

/** Each sequence's scored log-probs, out of the runner's answer to a plan. */
export function spanLogprobs(plan: SharedPlan, answers: readonly number[][]): number[][] {
  return plan.spans.map(({ continuation, offset, count }) => {
    const logprobs = answers[continuation];
    if (!logprobs) throw new RangeError(`no answer for continuation ${continuation}`);
    return logprobs.slice(offset, offset + count);
  });
}

/**
 * lm-eval's left truncation (lm_eval/models/huggingface.py `_loglikelihood_tokens`: `inp =
 * (context_enc + continuation_enc)[-(self.max_length + 1):][:-1]`, at 4e7e0d47): a sequence
 * longer than maxLength + 1 tokens loses its first tokens, the scored ones kept whole. Throws
 * when the scored tokens alone need more than maxLength (lm-eval asserts they fit).
 */
export function truncateLeft(
  sequence: ScoredSequence,
  maxLength: number,
): { sequence: ScoredSequence; truncated: boolean } {
  const { tokens, from } = sequence;
  if (tokens.length <= maxLength + 1) return { sequence, truncated: false };
  const scored = tokens.length - from;
  if (scored > maxLength) {
    throw new RangeError(
      `the continuation's ${scored} tokens exceed the ${maxLength} the context holds (with at least one before them)`,
    );
  }
  const kept = tokens.slice(tokens.length - (maxLength + 1));
  return { sequence: { tokens: kept, from: kept.length - scored }, truncated: true };
}

/**
 * lm-eval's `_encode_pair`: trailing whitespace of the context moves to the continuation
 * (Python's `str.rstrip()`), so the word boundary is tokenized with the continuation.
 */
export function splitPair(context: string, continuation: string): [string, string] {
  const stripped = context.replace(/\s+$/u, "");
  const spaces = context.length - stripped.length;
  return spaces > 0
    ? [stripped, context.slice(stripped.length) + continuation]
    : [context, continuation];
}

/** lm-eval's continuation tokens: those of the whole string after the context's tokens. */
export function continuationTokens(
  contextEnc: readonly number[],
  wholeEnc: readonly number[],
): number[] {
  return wholeEnc.slice(contextEnc.length);
}

/** numpy's argmax: the first index of the maximum (NaN never wins here: inputs are finite). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if ((values[i] as number) > (values[best] as number)) best = i;
  }
  return best;
}

export interface LmEvalChoiceScores {
  /** argmax of the summed log-likelihoods. */
  pred: number;
  /** argmax of log-likelihood ÷ the choice's length in characters (Python `len`: code points). */
  predNorm: number;
  /** argmax of log-likelihood ÷ the choice's UTF-8 bytes. */
  predBytes: number;
  acc: number;
  acc_norm: number;
  acc_bytes: number;
}

/** lm-eval's multiple_choice `process_results` for one document with one gold index. */
export function lmEvalChoiceScores(
  lls: readonly number[],
  choices: readonly string[],
  gold: number,
): LmEvalChoiceScores {
  if (lls.length !== choices.length) {
    throw new RangeError(`${lls.length} log-likelihoods for ${choices.length} choices`);
  }
  const completionLen = choices.map((c) => [...c].length);
  const byteLength = choices.map((c) => Buffer.byteLength(c, "utf8"));
  const pred = argmax(lls);
  const predNorm = argmax(lls.map((ll, i) => ll / (completionLen[i] as number)));
  const predBytes = argmax(lls.map((ll, i) => ll / (byteLength[i] as number)));
  return {
    pred,
    predNorm,
    predBytes,
    acc: pred === gold ? 1 : 0,
    acc_norm: predNorm === gold ? 1 : 0,
    acc_bytes: predBytes === gold ? 1 : 0,
  };
}

/**
 * lm-eval's acc_mutual_info (lm_eval/api/task.py at 4e7e0d47, process_results lines 1570-1576):
 * `lls_mutual_info = [ll_c - ll_u for ll_c, ll_u in zip(lls, lls_unconditional)]`, 1 when its
 * argmax is the gold.
 */
export function accMutualInfo(
  lls: readonly number[],
  llsUnconditional: readonly number[],
  gold: number,
): number {
  if (lls.length !== llsUnconditional.length) {
    throw new RangeError(`${lls.length} log-likelihoods, ${llsUnconditional.length} unconditional`);
  }
  return argmax(lls.map((ll, i) => ll - (llsUnconditional[i] as number))) === gold ? 1 : 0;
}

/** Length of the prefix every sequence shares (llama.cpp's `common_prefix`). */
export function commonPrefix(sequences: readonly (readonly number[])[]): number {
  const first = sequences[0] ?? [];
  let k = 0;
  while (k < first.length && sequences.every((s) => s[k] === first[k])) k++;
  return k;
}

/**
 * hellaswag_score's sequences: each `context + " " + ending` tokenized with BOS, every ending
 * token after the common prefix scored; its score is the mean log-prob of those tokens.
 */
export function hellaswagSequences(tokenized: readonly (readonly number[])[]): ScoredSequence[] {
  const prefix = commonPrefix(tokenized);
  if (prefix < 1) throw new RangeError("the endings share no first token (llama.cpp needs BOS)");
  return tokenized.map((tokens, i) => {
    if (tokens.length <= prefix) throw new RangeError(`ending ${i} adds no token to the context`);
    return { tokens, from: prefix };
  });
}

/** Mean of each sequence's log-probs: llama.cpp's normalised ending score. */
export function meanScores(logprobs: readonly (readonly number[])[]): number[] {
  return logprobs.map((l) => l.reduce((a, b) => a + b, 0) / l.length);
}

/**
 * winogrande_score's evaluation pairs, ported term by term: sentence = first + choice + second,
 * tokenized with BOS; `bases[i]` = tokens of first + choice i. With more than k_min_trailing_ctx
 * (3) tokens after the common prefix in both, only what follows the choice is scored, the last
 * token left out; else the choice too. Each term is a (logit row, token) pair of llama.cpp's
 * batch, and row `i_logits + li` is mapped back to the tokens it follows — so its FIXME (the
 * second choice's first term read from the first sequence's last row) is reproduced, not fixed.
 * Returns, per choice, the sequences whose single last token is each term.
 */
export function winograndeTerms(
  seqs: readonly [readonly number[], readonly number[]],
  bases: readonly [number, number],
): [ScoredSequence[], ScoredSequence[]] {
  const [s0, s1] = seqs;
  const cp = commonPrefix(seqs);
  if (cp < 1) throw new RangeError("the sentences share no first token (llama.cpp needs BOS)");
  const kMinTrailingCtx = 3;
  const skipChoice = s0.length - cp > kMinTrailingCtx && s1.length - cp > kMinTrailingCtx;
  // Logit row li after the shared one: row 0 follows the common prefix, rows 1..len0-cp follow
  // s0's tokens cp..len0-1, then rows follow s1's tokens cp..len1-1.
  const rowPrefix = (li: number): readonly number[] => {
    if (li === 0) return s0.slice(0, cp);
    if (li <= s0.length - cp) return s0.slice(0, cp + li);
    return s1.slice(0, cp + (li - (s0.length - cp) - 1) + 1);
  };
  const term = (li: number, token: number): ScoredSequence => {
    const tokens = [...rowPrefix(li), token];
    return { tokens, from: tokens.length - 1 };
  };
  const nBase1 = skipChoice ? bases[0] : cp;
  const last1 = s0.length - nBase1 > 1 ? 1 : 0;
  const first: ScoredSequence[] = [];
  let li = nBase1 - cp;
  for (let j = nBase1 - 1; j < s0.length - 1 - last1; j++)
    first.push(term(li++, s0[j + 1] as number));
  const nBase2 = skipChoice ? bases[1] : cp;
  const last2 = s1.length - nBase2 > 1 ? 1 : 0;
  const second: ScoredSequence[] = [];
  li = s0.length - cp + nBase2 - cp;
  for (let j = nBase2 - 1; j < s1.length - 1 - last2; j++)
    second.push(term(li++, s1[j + 1] as number));
  if (first.length === 0 || second.length === 0) {
    throw new RangeError("a choice has no token to score");
  }
  return [first, second];
}
