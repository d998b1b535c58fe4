import { RunnerFailure } from "../errors.js";
import type { RunnerClient } from "../runner-client/client.js";
import {
  accMutualInfo,
  argmax,
  continuationTokens,
  hellaswagSequences,
  lmEvalChoiceScores,
  meanScores,
  planShared,
  type ScoredSequence,
  spanLogprobs,
  splitPair,
  truncateLeft,
  winograndeTerms,
} from "../scoring/choices.js";
import type { MultipleChoiceOptions } from "../suites/schema.js";

/** A multiple-choice item as the runner scores it. */
export interface ChoiceItem {
  context: string;
  choices: readonly string[];
  gold: number;
  options: MultipleChoiceOptions;
}

export interface ChoiceOutcome {
  /** acc, acc_norm, acc_bytes (lm-eval) or acc (llama.cpp): 1 when the pick is the gold. */
  metrics: Record<string, number>;
  /** The choice `acc` picked. */
  pick: number;
  /** Per choice, the figure the pick is the argmax of: summed (lm-eval) or mean (llama.cpp) log-prob. */
  scores: number[];
  /** Per choice, the token ids scored (lm-eval: its continuation_enc). */
  scoredTokens: number[][];
  /** Whether a sequence was cut from the left to fit (lm-eval's truncation). */
  truncated: boolean;
  /** Tokens evaluated: the shared context once, then each continuation. */
  evaluatedTokens: number;
  evalMs: number;
}

/**
 * Scores one item: tokenizes as the suite's scoring says (every text of the item in one request
 * where the runner lists `tokenize-batch`), then one scoreChoices evaluates the shared context once.
 * Texts found in `known` (tokens with BOS, as `tokenizeAhead` gives them) are not asked again.
 */
export async function scoreChoiceItem(
  runner: RunnerClient,
  item: ChoiceItem,
  timeoutMs: number,
  capabilities: readonly string[] = [],
  maxLength = Number.POSITIVE_INFINITY,
  known?: ReadonlyMap<string, number[]>,
): Promise<ChoiceOutcome> {
  const ask: Tokenize = capabilities.includes("tokenize-batch")
    ? async (texts) =>
        (await runner.request("tokenizeBatch", { texts, addBos: true }, timeoutMs)).batch
    : (texts) =>
        Promise.all(
          texts.map(
            async (text) =>
              (await runner.request("tokenize", { text, addBos: true }, timeoutMs)).tokens,
          ),
        );
  const tokenize: Tokenize = async (texts) => {
    const found = texts.map((text) => known?.get(text));
    if (found.every((tokens) => tokens !== undefined)) return found as number[][];
    return ask(texts);
  };
  const { options } = item;
  if (options.scoring === "lm-eval") {
    const { sequences, lengths } = await lmEvalSequences(item, tokenize);
    const { logprobs, evaluatedTokens, evalMs, truncated } = await scoreSequences(
      runner,
      sequences,
      timeoutMs,
      maxLength,
    );
    const lls = logprobs.map((l) => l.reduce((a, b) => a + b, 0));
    const scores = lmEvalChoiceScores(lls, lengths, item.gold);
    const { acc, acc_norm, acc_bytes } = scores;
    const metrics: Record<string, number> = { acc, acc_norm, acc_bytes };
    let evaluated = evaluatedTokens;
    let ms = evalMs;
    if (options.mutual_info) {
      const unconditional = await unconditionalSequences(lengths, options, runner, timeoutMs);
      const answer = await scoreSequences(runner, unconditional, timeoutMs, maxLength);
      const llsUnconditional = answer.logprobs.map((l) => l.reduce((a, b) => a + b, 0));
      metrics.acc_mutual_info = accMutualInfo(lls, llsUnconditional, item.gold);
      evaluated += answer.evaluatedTokens;
      ms += answer.evalMs;
    }
    return {
      metrics,
      pick: scores.pred,
      scores: lls,
      scoredTokens: sequences.map((s) => s.tokens.slice(s.from)),
      truncated,
      evaluatedTokens: evaluated,
      evalMs: ms,
    };
  }
  if (options.blank !== undefined) return winogrande(runner, item, tokenize, timeoutMs);
  const tokenized = await tokenize(hellaswagTexts(item));
  const sequences = hellaswagSequences(tokenized);
  const { logprobs, evaluatedTokens, evalMs } = await scoreSequences(runner, sequences, timeoutMs);
  const scores = meanScores(logprobs);
  const pick = argmax(scores);
  const scoredTokens = sequences.map((s) => s.tokens.slice(s.from));
  return {
    metrics: { acc: pick === item.gold ? 1 : 0 },
    pick,
    scores,
    scoredTokens,
    truncated: false,
    evaluatedTokens,
    evalMs,
  };
}

/** Token lists of the texts, in order (BOS where the model adds one). */
type Tokenize = (texts: string[]) => Promise<number[][]>;

/**
 * lm-eval's requests: (context, target_delimiter + choice) per choice, or with a blank
 * (its winogrande task) (text before the blank + choice, target_delimiter + the rest, stripped);
 * each split by `_encode_pair`. The lengths acc_norm divides by are those of doc_to_choice.
 */
async function lmEvalSequences(
  item: ChoiceItem,
  tokenize: Tokenize,
): Promise<{ sequences: ScoredSequence[]; lengths: string[] }> {
  const { split, lengths } = lmEvalPairs(item);
  const encoded = await tokenize(split.flatMap(([ctx, cont]) => [ctx, ctx + cont]));
  const sequences = split.map(([, cont], i) => {
    const contextEnc = encoded[2 * i] as number[];
    const continuationEnc = continuationTokens(contextEnc, encoded[2 * i + 1] as number[]);
    if (continuationEnc.length === 0) {
      throw new RunnerFailure("error", `"${cont}" adds no token to the context`);
    }
    return { tokens: [...contextEnc, ...continuationEnc], from: contextEnc.length };
  });
  return { sequences, lengths };
}

/**
 * lm-eval's unconditional requests for acc_mutual_info (lm_eval/api/task.py at 4e7e0d47,
 * construct_requests lines 1393-1405: `("", f"{target_delimiter}{choice}") for choice in
 * choices`, choices being doc_to_choice) as TemplateLM.loglikelihood encodes an empty context
 * (lm_eval/api/model.py lines 430-440): the continuation tokenized without special tokens, the
 * context `[prefix_token_id]` (BOS, huggingface.py lines 611-617) unless the continuation
 * already starts with it. These share only BOS with the conditional sequences, so they go in a
 * request of their own (one evaluation of BOS, each choice continuing from it).
 */
async function unconditionalSequences(
  choices: readonly string[],
  options: MultipleChoiceOptions,
  runner: RunnerClient,
  timeoutMs: number,
): Promise<ScoredSequence[]> {
  const bos = (await runner.request("tokenize", { text: "", addBos: true }, timeoutMs)).tokens;
  const prefix = bos[0];
  if (bos.length !== 1 || prefix === undefined) {
    throw new RunnerFailure(
      "error",
      "acc_mutual_info needs a BOS token to condition on (lm-eval's prefix_token_id); this model adds none",
    );
  }
  return Promise.all(
    choices.map(async (choice) => {
      const text = options.target_delimiter + choice;
      const enc = (await runner.request("tokenize", { text, addBos: false }, timeoutMs)).tokens;
      const tokens = enc[0] === prefix ? enc : [prefix, ...enc];
      if (tokens.length < 2) throw new RunnerFailure("error", `"${text}" has no token to score`);
      return { tokens, from: 1 };
    }),
  );
}

/** llama-perplexity --winogrande: two choices, scored by its terms, ties to the second. */
async function winogrande(
  runner: RunnerClient,
  item: ChoiceItem,
  tokenize: Tokenize,
  timeoutMs: number,
): Promise<ChoiceOutcome> {
  const [a, b] = item.choices;
  if (item.choices.length !== 2 || a === undefined || b === undefined) {
    throw new RunnerFailure("error", "llama.cpp's winogrande scoring takes exactly 2 choices");
  }
  const [seqA, seqB, baseA, baseB] = (await tokenize(winograndeTexts(item))) as [
    number[],
    number[],
    number[],
    number[],
  ];
  const seqs: [number[], number[]] = [seqA, seqB];
  const bases: [number, number] = [baseA.length, baseB.length];
  const [first, second] = winograndeTerms(seqs, bases);
  const { logprobs, evaluatedTokens, evalMs } = await scoreSequences(
    runner,
    [...first, ...second],
    timeoutMs,
  );
  const sum = (terms: number[][]) => terms.reduce((s, t) => s + (t[0] as number), 0);
  const scores = [
    sum(logprobs.slice(0, first.length)) / first.length,
    sum(logprobs.slice(first.length)) / second.length,
  ];
  const pick = (scores[0] as number) > (scores[1] as number) ? 0 : 1;
  const scoredTokens = [first, second].map((terms) => terms.map((t) => t.tokens.at(-1) as number));
  return {
    metrics: { acc: pick === item.gold ? 1 : 0 },
    pick,
    scores,
    scoredTokens,
    truncated: false,
    evaluatedTokens,
    evalMs,
  };
}

/**
 * The texts scoreChoiceItem tokenizes (with BOS) for an item, in its order, so that a run can
 * tokenize many items in one request ahead of scoring them. Throws what scoring the item would.
 */
export function choiceTexts(item: ChoiceItem): string[] {
  if (item.options.scoring === "lm-eval") {
    return lmEvalPairs(item).split.flatMap(([ctx, cont]) => [ctx, ctx + cont]);
  }
  if (item.options.blank !== undefined) return winograndeTexts(item);
  return hellaswagTexts(item);
}

/** llama-perplexity --hellaswag: context + delimiter + each ending, tokenized whole. */
function hellaswagTexts(item: ChoiceItem): string[] {
  return item.choices.map((choice) => item.context + item.options.target_delimiter + choice);
}

/** llama-perplexity --winogrande: each choice's whole sentence, then the part before the rest. */
function winograndeTexts(item: ChoiceItem): string[] {
  const [a, b] = item.choices;
  if (item.choices.length !== 2 || a === undefined || b === undefined) return [];
  const { before, after } = splitBlank(item.context, item.options.blank as string);
  return [before + a + after, before + b + after, before + a, before + b];
}

/** lm-eval's (context, continuation) pairs split by `_encode_pair`, and acc_norm's texts. */
function lmEvalPairs(item: ChoiceItem): {
  split: Array<readonly [string, string]>;
  lengths: string[];
} {
  const { options } = item;
  let pairs: Array<[string, string]>;
  let lengths: string[];
  if (options.blank === undefined) {
    pairs = item.choices.map((choice) => [item.context, options.target_delimiter + choice]);
    lengths = [...item.choices];
  } else {
    const { before, after } = splitBlank(item.context, options.blank);
    const target = after.trim();
    lengths = item.choices.map((choice) => before + choice);
    pairs = lengths.map((context) => [context, options.target_delimiter + target]);
  }
  const split = pairs.map(([context, continuation]) => {
    const [ctx, cont] = splitPair(context, continuation);
    if (ctx === "") throw new RunnerFailure("error", "the context is empty once split");
    return [ctx, cont] as const;
  });
  return { split, lengths };
}

function splitBlank(context: string, blank: string): { before: string; after: string } {
  const at = context.indexOf(blank);
  if (at < 0) throw new RunnerFailure("error", `the context has no blank "${blank}"`);
  return { before: context.slice(0, at), after: context.slice(at + blank.length) };
}

/**
 * One scoreChoices request for the sequences; their scored log-probs, in order. Where one is
 * longer than maxLength + 1 tokens, each is cut from the left as lm-eval does and scored in a
 * request of its own (cut sequences no longer share their context).
 */
async function scoreSequences(
  runner: RunnerClient,
  sequences: readonly ScoredSequence[],
  timeoutMs: number,
  maxLength = Number.POSITIVE_INFINITY,
): Promise<{ logprobs: number[][]; evaluatedTokens: number; evalMs: number; truncated: boolean }> {
  let cut: ReturnType<typeof truncateLeft>[];
  try {
    cut = sequences.map((s) => truncateLeft(s, maxLength));
  } catch (error) {
    throw new RunnerFailure("error", (error as Error).message, {
      cause: error,
      runnerCode: "CONTEXT_OVERFLOW",
    });
  }
  if (!cut.some((c) => c.truncated))
    return { ...(await scoreShared(runner, sequences, timeoutMs)), truncated: false };
  const each = [];
  for (const c of cut) each.push(await scoreShared(runner, [c.sequence], timeoutMs));
  return {
    logprobs: each.map((e) => e.logprobs[0] as number[]),
    evaluatedTokens: each.reduce((n, e) => n + e.evaluatedTokens, 0),
    evalMs: each.reduce((n, e) => n + e.evalMs, 0),
    truncated: true,
  };
}

/** One scoreChoices request for sequences evaluated from their shared prefix. */
async function scoreShared(
  runner: RunnerClient,
  sequences: readonly ScoredSequence[],
  timeoutMs: number,
): Promise<{ logprobs: number[][]; evaluatedTokens: number; evalMs: number }> {
  let plan: ReturnType<typeof planShared>;
  try {
    plan = planShared(sequences);
  } catch (error) {
    throw new RunnerFailure("error", (error as Error).message, { cause: error });
  }
  const out = await runner.request(
    "scoreChoices",
    { context: plan.context, continuations: plan.continuations },
    timeoutMs,
  );
  const evaluatedTokens =
    plan.context.length + plan.continuations.reduce((n, c) => n + c.length - 1, 0);
  return {
    logprobs: spanLogprobs(
      plan,
      out.choices.map((c) => c.logprobs),
    ),
    evaluatedTokens,
    evalMs: out.evalMs,
  };
}
