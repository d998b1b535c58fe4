/**
 * scoreChoices for the llama.cpp runner: the shared context is evaluated once, then each
 * continuation goes on from it in the same sequence and is erased from the KV cache after, so
 * an item's n choices cost one context plus their own tokens (llama-perplexity's hellaswag_score
 * shares the common prefix of its four endings the same way, across sequences of one batch).
 */
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type {
  ChoiceScore,
  ScoreChoicesParams,
  ScoreChoicesResult,
} from "../../src/runner-client/protocol.js";
import { RunnerError } from "../shared/serve.js";

/** The part of the loaded model scoreChoices needs. */
export interface ChoicesState {
  sequence: LlamaContextSequence;
  contextSize: number;
}

/** Greedy selection is the argmax: the selected token is the most likely one. */
const GREEDY = { temperature: 0 };

type Next = { token?: Token | null; logits?: Map<Token, number>; totalLogitWeight?: number };

export async function scoreChoices(
  state: ChoicesState,
  params: ScoreChoicesParams,
): Promise<ScoreChoicesResult> {
  const { context, continuations } = params;
  checkParams(state, params);
  const started = performance.now();
  const { sequence } = state;
  await sequence.clearHistory();
  const firsts = [...new Set(continuations.map((c) => c[0] as Token))];
  const input = context.map((token, i) =>
    i < context.length - 1 ? (token as Token) : withNext(token, firsts),
  );
  const outputs = await sequence.controlledEvaluate(input);
  const afterContext = outputs[context.length - 1]?.next;
  const choices: ChoiceScore[] = [];
  for (const continuation of continuations) {
    const first = scoreOf(afterContext, continuation[0] as number, context.length - 1);
    const logprobs = [first.logprob];
    let greedy = first.greedy;
    // The last token is only scored, never evaluated: nothing is asked of what follows it.
    const body = continuation.slice(0, -1);
    if (body.length > 0) {
      const steps = body.map((token, i) => withNext(token, [continuation[i + 1] as Token]));
      const out = await sequence.controlledEvaluate(steps);
      for (let i = 0; i < body.length; i++) {
        const scored = scoreOf(out[i]?.next, continuation[i + 1] as number, context.length + i);
        logprobs.push(scored.logprob);
        greedy &&= scored.greedy;
      }
      await sequence.eraseContextTokenRanges([
        { start: context.length, end: context.length + body.length },
      ]);
    }
    choices.push({ logprobs, greedy });
  }
  return { choices, evalMs: performance.now() - started };
}

function checkParams(state: ChoicesState, { context, continuations }: ScoreChoicesParams): void {
  if (!Array.isArray(context) || context.length === 0) {
    throw new RunnerError("BAD_PARAMS", "context must hold at least one token");
  }
  if (!Array.isArray(continuations) || continuations.length === 0) {
    throw new RunnerError("BAD_PARAMS", "continuations must hold at least one continuation");
  }
  const longest = Math.max(...continuations.map((c) => c.length));
  if (continuations.some((c) => c.length === 0)) {
    throw new RunnerError("BAD_PARAMS", "every continuation needs at least one token");
  }
  // The context and every continuation token but the last are evaluated.
  if (context.length + longest - 1 > state.contextSize) {
    throw new RunnerError(
      "CONTEXT_OVERFLOW",
      `context ${context.length} + continuation ${longest - 1} tokens to evaluate; the context holds ${state.contextSize}`,
    );
  }
}

/** A token whose next-token logits are wanted for `tokens`, with the normaliser and the argmax. */
function withNext(token: number, tokens: Token[]) {
  const generateNext = {
    token: true,
    logits: { filter: { tokens, includeSelected: true } },
    totalLogitWeight: true,
    options: GREEDY,
  };
  return [token as Token, { generateNext }] as [Token, { generateNext: typeof generateNext }];
}

function scoreOf(
  next: Next | undefined,
  token: number,
  position: number,
): { logprob: number; greedy: boolean } {
  const logits = next?.logits;
  const weight = next?.totalLogitWeight;
  const actual = logits?.get(token as Token);
  if (!logits || weight === undefined || logits.size === 0 || actual === undefined) {
    throw new RunnerError("INTERNAL", `no logits returned for position ${position}`);
  }
  // The returned logits come sorted, the maximum first; the weight is Σ exp(logit − max).
  const max = logits.values().next().value as number;
  return { logprob: actual - max - Math.log(weight), greedy: next?.token === token };
}
