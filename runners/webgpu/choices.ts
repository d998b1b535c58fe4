/**
 * scoreChoices for the WebGPU runner, with the llama.cpp runner's semantics (choices.ts there):
 * the shared context goes through the KV cache once; each continuation then runs from the
 * context's last position, writing its own positions over the previous continuation's. The
 * session's KV cache is one sequence, and attention at position p reads positions ≤ p only, so
 * overwriting from `context.length` on is the truncation llama.cpp's seq_cp + seq_rm give: no
 * context token is evaluated twice. An item costs the context once plus every continuation.
 */
import type {
  ChoiceScore,
  ScoreChoicesParams,
  ScoreChoicesResult,
} from "../../src/runner-client/protocol.js";
import { checkChoiceParams } from "../shared/choice-params.js";
import { RunnerError } from "../shared/serve.js";
import { checkTokens, type Session } from "./session.js";

/** A scored row: the log-probs of the row's wanted ids, in order, and the row's argmax id. */
interface Row {
  logprobs: number[];
  top: number;
}

export async function scoreChoices(
  state: Session,
  params: ScoreChoicesParams,
): Promise<ScoreChoicesResult> {
  checkParams(state, params);
  const { context, continuations } = params;
  const started = performance.now();
  const firsts = [...new Set(continuations.map((c) => c[0] as number))];
  const [head] = await run(state, context, 0, context.length - 1, [firsts]);
  if (!head) throw new RunnerError("INTERNAL", "no logits returned after the context");
  const choices: ChoiceScore[] = [];
  for (const continuation of continuations) {
    const first = continuation[0] as number;
    const logprobs = [head.logprobs[firsts.indexOf(first)] as number];
    let greedy = head.top === first;
    // The last token of a continuation is only scored, never evaluated.
    const body = continuation.slice(0, -1);
    if (body.length > 0) {
      const wanted = continuation.slice(1).map((token) => [token]);
      const rows = await run(state, body, context.length, 0, wanted);
      rows.forEach((row, j) => {
        logprobs.push(row.logprobs[0] as number);
        greedy &&= row.top === continuation[j + 1];
      });
    }
    choices.push({ logprobs, greedy });
  }
  return { choices, evalMs: performance.now() - started };
}

/**
 * Runs `tokens` at positions pos0… through the KV cache in batches of the graph's size and
 * scores the rows from index `from` on: per row, the ids in `wanted[row - from]` and the argmax.
 */
async function run(
  state: Session,
  tokens: readonly number[],
  pos0: number,
  from: number,
  wanted: readonly number[][],
): Promise<Row[]> {
  const { graph } = state;
  const S = Math.max(...wanted.map((w) => w.length));
  const K = 1;
  const stride = S + 2 * K;
  const rows: Row[] = [];
  for (let c0 = 0; c0 < tokens.length; c0 += graph.maxBatch) {
    const chunk = tokens.slice(c0, c0 + graph.maxBatch);
    const first = Math.max(from, c0);
    const end = c0 + chunk.length;
    if (end <= first) {
      graph.prefill(chunk, pos0 + c0);
      continue;
    }
    const ids = new Uint32Array((end - first) * S);
    for (let i = first; i < end; i++) {
      const list = wanted[i - from] ?? [];
      for (let s = 0; s < S; s++) ids[(i - first) * S + s] = list[s] ?? (list[0] as number);
    }
    const out = await graph.score(chunk, pos0 + c0, first - c0, end - first, {
      targets: ids,
      S,
      K,
    });
    for (let r = 0; r < end - first; r++) {
      const row = out.subarray(r * stride, (r + 1) * stride);
      const count = wanted[first + r - from]?.length ?? 0;
      rows.push({ logprobs: Array.from(row.subarray(0, count)), top: row[S] as number });
    }
  }
  return rows;
}

function checkParams(state: Session, params: ScoreChoicesParams): void {
  checkChoiceParams(params, state.graph.contextSize);
  checkTokens(state, params.context, "context");
  params.continuations.forEach((c, i) => {
    checkTokens(state, c, `continuations[${i}]`);
  });
}
