/** The protocol's `evaluate`: log-probabilities of the actual next tokens, top-K and targets, computed on the GPU. */
import type {
  EvaluateParams,
  EvaluateResult,
  ScoredToken,
} from "../../src/runner-client/protocol.js";
import { RunnerError } from "../shared/serve.js";
import { checkTokens, type Session } from "./session.js";

function checkEvaluate(state: Session, params: EvaluateParams): void {
  const { tokens, scoreFrom, topK, targets } = params;
  if (tokens.length > state.graph.contextSize) {
    throw new RunnerError(
      "CONTEXT_OVERFLOW",
      `${tokens.length} tokens to evaluate; the context holds ${state.graph.contextSize}`,
    );
  }
  if (!Number.isInteger(scoreFrom) || scoreFrom < 1 || scoreFrom > tokens.length) {
    throw new RunnerError("BAD_PARAMS", `scoreFrom must be in [1, ${tokens.length}]`);
  }
  if (!Number.isInteger(topK) || topK < 0) {
    throw new RunnerError("BAD_PARAMS", `topK must be a non-negative integer, got ${topK}`);
  }
  if (targets && targets.length !== tokens.length - scoreFrom) {
    throw new RunnerError(
      "BAD_PARAMS",
      `targets must have one list per scored position (${tokens.length - scoreFrom})`,
    );
  }
  checkTokens(state, tokens, "tokens");
  for (const list of targets ?? []) checkTokens(state, list, "targets");
}

export async function evaluate(state: Session, params: EvaluateParams): Promise<EvaluateResult> {
  checkEvaluate(state, params);
  const { tokens, scoreFrom, targets } = params;
  const { graph } = state;
  const started = performance.now();
  const topK = Math.min(params.topK, state.vocab);
  // Per scored row: the actual next token, then the caller's targets (padded by repeating it).
  const S = 1 + Math.max(0, ...(targets ?? []).map((t) => t.length));
  const stride = S + 2 * topK;
  const first = scoreFrom - 1;
  const last = tokens.length - 1;
  const scored: ScoredToken[] = [];
  for (let c0 = 0; c0 < tokens.length; c0 += graph.maxBatch) {
    const chunk = tokens.slice(c0, c0 + graph.maxBatch);
    const from = Math.max(first, c0);
    const to = Math.min(last, c0 + chunk.length);
    if (to <= from) {
      graph.prefill(chunk, c0);
      continue;
    }
    const ids = new Uint32Array((to - from) * S);
    for (let i = from; i < to; i++) {
      const next = tokens[i + 1] as number;
      const extra = targets?.[i - first] ?? [];
      for (let s = 0; s < S; s++) ids[(i - from) * S + s] = s === 0 ? next : (extra[s - 1] ?? next);
    }
    const rows = await graph.score(chunk, c0, from - c0, to - from, { targets: ids, S, K: topK });
    for (let r = 0; r < to - from; r++) {
      const row = rows.subarray(r * stride, (r + 1) * stride);
      const entry: ScoredToken = { logprob: row[0] as number };
      if (params.topK > 0) {
        entry.top = [];
        for (let k = 0; k < topK; k++) {
          entry.top.push([row[S + 2 * k] as number, row[S + 2 * k + 1] as number]);
        }
      }
      const wanted = targets?.[from + r - first];
      if (wanted) entry.targets = Array.from(row.subarray(1, 1 + wanted.length));
      scored.push(entry);
    }
  }
  return { scored, evalMs: performance.now() - started };
}
