/** The checks every runner's `scoreChoices` makes of its parameters before any engine work. */
import type { ScoreChoicesParams } from "../../src/runner-client/protocol.js";
import { RunnerError } from "./serve.js";

/**
 * A context and continuations of at least one token each; with `contextSize` (a runner that
 * holds the context itself), the context and every continuation token but the last must fit,
 * since those are what is evaluated.
 */
export function checkChoiceParams(
  { context, continuations }: ScoreChoicesParams,
  contextSize?: number,
): void {
  if (!Array.isArray(context) || context.length === 0) {
    throw new RunnerError("BAD_PARAMS", "context must hold at least one token");
  }
  if (!Array.isArray(continuations) || continuations.length === 0) {
    throw new RunnerError("BAD_PARAMS", "continuations must hold at least one continuation");
  }
  if (continuations.some((c) => !Array.isArray(c) || c.length === 0)) {
    throw new RunnerError("BAD_PARAMS", "every continuation needs at least one token");
  }
  if (contextSize === undefined) return;
  const longest = Math.max(...continuations.map((c) => c.length));
  if (context.length + longest - 1 > contextSize) {
    throw new RunnerError(
      "CONTEXT_OVERFLOW",
      `context ${context.length} + continuation ${longest - 1} tokens to evaluate; the context holds ${contextSize}`,
    );
  }
}
