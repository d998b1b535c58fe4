import { quantile } from "../scoring/quantile.js";
/**
 * Statistics of one load level, as vLLM's serving benchmark defines them (benchmarks/serve.py):
 * TTFT per request, ITL over every gap between token events, TPOT = (latency − TTFT) /
 * (output tokens − 1), goodput = requests meeting every budget per second. Pure functions.
 */

export interface RequestOutcome {
  ok: boolean;
  error?: string;
  /** ms from the level's start to sending the request. */
  sentMs: number;
  ttftMs: number;
  /** Gaps between consecutive token events, ms. */
  itlMs: number[];
  /** Send → end of stream, ms. */
  e2eMs: number;
  outputTokens: number;
  promptTokens: number;
}

export interface Percentiles {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface Budgets {
  /** A request is good when its TTFT is at most this. */
  ttftMs?: number;
  /** … and its mean inter-token latency (TPOT) at most this. */
  itlMs?: number;
}

export interface LevelStats {
  requests: number;
  completed: number;
  failed: number;
  durationS: number;
  requestThroughput: number;
  outputThroughput: number;
  ttft: Percentiles | null;
  itl: Percentiles | null;
  tpot: Percentiles | null;
  e2e: Percentiles | null;
  /** Share of all requests sent that completed within every budget; null without budgets. */
  goodShare: number | null;
  /** Good requests per second; null without budgets. */
  goodput: number | null;
}

/** numpy.percentile's default, `p` in percent. */
export function percentile(sorted: readonly number[], p: number): number {
  return quantile(sorted, p / 100);
}

export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
  };
}

/** vLLM's TPOT: 0 for a one-token output (so it meets any ITL budget, as vLLM counts it). */
export function tpotMs(outcome: RequestOutcome): number {
  return outcome.outputTokens > 1
    ? (outcome.e2eMs - outcome.ttftMs) / (outcome.outputTokens - 1)
    : 0;
}

export function isGood(outcome: RequestOutcome, budgets: Budgets): boolean {
  if (!outcome.ok) return false;
  if (budgets.ttftMs !== undefined && outcome.ttftMs > budgets.ttftMs) return false;
  if (budgets.itlMs !== undefined && tpotMs(outcome) > budgets.itlMs) return false;
  return true;
}

/** `durationS`: the level's wall time, from its start to its last answer. */
export function summarizeLevel(
  outcomes: readonly RequestOutcome[],
  durationS: number,
  budgets: Budgets,
): LevelStats {
  const ok = outcomes.filter((o) => o.ok);
  const outputTokens = ok.reduce((n, o) => n + o.outputTokens, 0);
  const perSecond = (n: number) => (durationS > 0 ? n / durationS : 0);
  const hasBudgets = budgets.ttftMs !== undefined || budgets.itlMs !== undefined;
  const good = outcomes.filter((o) => isGood(o, budgets)).length;
  return {
    requests: outcomes.length,
    completed: ok.length,
    failed: outcomes.length - ok.length,
    durationS,
    requestThroughput: perSecond(ok.length),
    outputThroughput: perSecond(outputTokens),
    ttft: percentiles(ok.map((o) => o.ttftMs)),
    itl: percentiles(ok.flatMap((o) => o.itlMs)),
    tpot: percentiles(ok.filter((o) => o.outputTokens > 1).map(tpotMs)),
    e2e: percentiles(ok.map((o) => o.e2eMs)),
    goodShare: hasBudgets && outcomes.length > 0 ? good / outcomes.length : null,
    goodput: hasBudgets ? perSecond(good) : null,
  };
}
