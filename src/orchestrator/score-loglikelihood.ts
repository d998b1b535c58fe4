import { RunnerFailure } from "../errors.js";
import type { RunnerClient } from "../runner-client/client.js";
import { continuationTokens, splitPair, truncateLeft } from "../scoring/choices.js";
import { countBytes, countWords, rollingWindows } from "../scoring/loglikelihood.js";

export interface LikelihoodOutcome {
  metrics: Record<string, number>;
  evaluatedTokens: number;
  evalMs: number;
}

/**
 * lm-eval's loglikelihood request (context, target): split by `_encode_pair`, the target's
 * summed log-prob and whether it is the greedy continuation (stored as `acc`, lm-eval's).
 */
export async function scoreLoglikelihood(
  runner: RunnerClient,
  item: { context: string; continuation: string; bos: number | null; maxLength?: number },
  timeoutMs: number,
): Promise<LikelihoodOutcome> {
  const tokenize = async (text: string, addBos = true) =>
    (await runner.request("tokenize", { text, addBos }, timeoutMs)).tokens;
  let contextEnc: number[];
  let continuationEnc: number[];
  if (item.context === "") {
    // lm-eval's empty context: the prefix token (BOS) stands for it.
    if (item.bos === null) throw new RunnerFailure("error", "an empty context needs a BOS token");
    contextEnc = [item.bos];
    continuationEnc = await tokenize(item.continuation, false);
  } else {
    const [ctx, cont] = splitPair(item.context, item.continuation);
    contextEnc = await tokenize(ctx);
    continuationEnc = continuationTokens(contextEnc, await tokenize(ctx + cont));
  }
  if (continuationEnc.length === 0) {
    throw new RunnerFailure("error", "the target adds no token to the context");
  }
  let cut: ReturnType<typeof truncateLeft>;
  try {
    const whole = { tokens: [...contextEnc, ...continuationEnc], from: contextEnc.length };
    cut = truncateLeft(whole, item.maxLength ?? Number.POSITIVE_INFINITY);
  } catch (error) {
    throw new RunnerFailure("error", (error as Error).message, {
      cause: error,
      runnerCode: "CONTEXT_OVERFLOW",
    });
  }
  contextEnc = cut.sequence.tokens.slice(0, cut.sequence.from);
  const out = await runner.request(
    "scoreChoices",
    { context: contextEnc, continuations: [continuationEnc] },
    timeoutMs,
  );
  const choice = out.choices[0];
  if (!choice) throw new RunnerFailure("error", "no score for the target");
  const ll = choice.logprobs.reduce((a, b) => a + b, 0);
  return {
    metrics: {
      loglikelihood: ll,
      acc: choice.greedy ? 1 : 0,
      // Stored only where the context was cut, so the suite's sum counts cut items.
      ...(cut.truncated ? { truncated: 1 } : {}),
    },
    evaluatedTokens: contextEnc.length + continuationEnc.length - 1,
    evalMs: out.evalMs,
  };
}

/**
 * lm-eval's loglikelihood_rolling: the document's tokens (with BOS where the model adds one, as
 * its tokenizer's default does) in rolling windows after the prefix token, every token scored
 * once; stores the summed log-likelihood with the document's words and UTF-8 bytes. Each window
 * is one whole-sequence `evaluate`, as lm-eval's `_loglikelihood_tokens` runs one forward pass
 * over a window's (context + continuation)[:-1] (the last token only scored: a full window holds
 * max_length + 1 tokens). Not `scoreChoices`: its context decode then continuation decode (one
 * context token here) moved single log-probs by up to 9.4e-3 from the one-pass figure on
 * stories260K, a document's sum by up to 0.028 (scripts/lm-eval-port.mjs, test
 * choices-lm-eval.test.ts, scripts/rolling-decode-split.mjs); `evaluate` gives the one-pass figure
 * exactly.
 */
export async function scoreRolling(
  runner: RunnerClient,
  item: { text: string; prefix: number; maxLength: number },
  timeoutMs: number,
): Promise<LikelihoodOutcome> {
  const { tokens } = await runner.request("tokenize", { text: item.text, addBos: true }, timeoutMs);
  let ll = 0;
  let evaluatedTokens = 0;
  let evalMs = 0;
  for (const window of rollingWindows(tokens, item.prefix, item.maxLength)) {
    const out = await runner.request(
      "evaluate",
      {
        tokens: [...window.context, ...window.continuation],
        scoreFrom: window.context.length,
        topK: 0,
      },
      timeoutMs,
    );
    ll += out.scored.reduce((sum, s) => sum + s.logprob, 0);
    evaluatedTokens += window.context.length + window.continuation.length - 1;
    evalMs += out.evalMs;
  }
  return {
    metrics: {
      loglikelihood: ll,
      ll_words: countWords(item.text),
      ll_bytes: countBytes(item.text),
    },
    evaluatedTokens,
    evalMs,
  };
}
