import { quantile } from "../scoring/quantile.js";
/** Distribution summaries of timings: what the report and the verdict's budgets read. */
export interface Distribution {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

/** n, mean and p50/p90/p99 (linear interpolation) of finite values; undefined when there are none. */
export function distribution(
  values: Iterable<number | null | undefined>,
): Distribution | undefined {
  const finite: number[] = [];
  for (const v of values) if (v !== null && v !== undefined && Number.isFinite(v)) finite.push(v);
  if (finite.length === 0) return undefined;
  const sorted = Float64Array.from(finite).sort();
  return {
    n: sorted.length,
    mean: finite.reduce((a, b) => a + b, 0) / finite.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  };
}

/** One generation as stored (results row), times in ms. */
export interface GenerationRow {
  prompt_tokens: number | null;
  completion_tokens: number | null;
  ttft_ms: number | null;
  tokenize_ms: number | null;
  decode_ms: number | null;
  total_ms: number | null;
  ipc_ms: number | null;
}

export interface GenerationTimings {
  ttftMs?: Distribution;
  /** (completion tokens − 1) / (t_last − t_first): the inverse of vLLM's TPOT. */
  decodeTps?: Distribution;
  /** prompt tokens / (TTFT − tokenization). */
  prefillTps?: Distribution;
  /** End to end inside the runner. */
  latencyMs?: Distribution;
  /** End to end as the harness saw it, IPC included. */
  ipcLatencyMs?: Distribution;
  /** The harness's own cost per request: IPC-inclusive minus in-runner time. */
  overheadMs?: Distribution;
}

/** (completion tokens − 1) / decode time, per second; undefined where it is not defined. */
export function decodeTpsOf(
  r: Pick<GenerationRow, "completion_tokens" | "decode_ms">,
): number | undefined {
  return r.completion_tokens !== null && r.completion_tokens > 1 && r.decode_ms
    ? ((r.completion_tokens - 1) * 1000) / r.decode_ms
    : undefined;
}

/** Prompt tokens / (TTFT − tokenization), per second; undefined where it is not defined. */
export function prefillTpsOf(
  r: Pick<GenerationRow, "prompt_tokens" | "ttft_ms" | "tokenize_ms">,
): number | undefined {
  if (!r.prompt_tokens || r.ttft_ms === null) return undefined;
  const ms = r.ttft_ms - (r.tokenize_ms ?? 0);
  return ms > 0 ? (r.prompt_tokens * 1000) / ms : undefined;
}

/** The DESIGN.md definitions applied to stored generations. */
export function generationTimings(rows: readonly GenerationRow[]): GenerationTimings {
  const decode = rows.map(decodeTpsOf);
  const prefill = rows.map(prefillTpsOf);
  const out: GenerationTimings = {};
  const set = (key: keyof GenerationTimings, d: Distribution | undefined) => {
    if (d) out[key] = d;
  };
  set("ttftMs", distribution(rows.map((r) => r.ttft_ms)));
  set("decodeTps", distribution(decode));
  set("prefillTps", distribution(prefill));
  set("latencyMs", distribution(rows.map((r) => r.total_ms)));
  set("ipcLatencyMs", distribution(rows.map((r) => r.ipc_ms)));
  set(
    "overheadMs",
    distribution(
      rows.map((r) =>
        r.ipc_ms !== null && r.total_ms !== null ? r.ipc_ms - r.total_ms : undefined,
      ),
    ),
  );
  return out;
}
