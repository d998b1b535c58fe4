import { quantile } from "../scoring/quantile.js";
import type { RunRecord, VariantRecord } from "../store/records.js";
import type { RunFacts } from "../verdict/facts.js";

/** Speed figures of one variant over its generations (items × repeats, after warm-up). */
export interface Timings {
  generations: number;
  ttft: { p50: number; p90: number; p99: number };
  /** promptTokens / (TTFT − tokenization), p50. */
  prefillTpsP50: number;
  /** (completionTokens − 1) / decode time, p50: the same figure the speed gate judges. */
  decodeTpsP50: number;
  /** What the harness waited for a generation, IPC included (runner time where not recorded). */
  e2e: { p50: number; p90: number; p99: number };
  /** Summed time of every stored result (generation and scoring), for JUnit. */
  busyMs: number;
}

/** TTFT, prefill and decode speed, latency and busy time from the facts the verdict read. */
export function readTimings(run: RunRecord, facts: RunFacts): Map<string, Timings> {
  const out = new Map<string, Timings>();
  const nan = Number.NaN;
  for (const v of run.variants) {
    const f = facts.variants.find((x) => x.id === v.id);
    const at = (values: Float64Array | undefined, fraction: number) =>
      values ? quantile(values, fraction) : nan;
    out.set(v.name, {
      generations: f?.ttftMs.length ?? 0,
      ttft: { p50: at(f?.ttftMs, 0.5), p90: at(f?.ttftMs, 0.9), p99: at(f?.ttftMs, 0.99) },
      prefillTpsP50: at(f?.prefillTps, 0.5),
      decodeTpsP50: at(f?.decodeTps, 0.5),
      e2e: { p50: at(f?.e2eMs, 0.5), p90: at(f?.e2eMs, 0.9), p99: at(f?.e2eMs, 0.99) },
      busyMs: f?.busyMs ?? 0,
    });
  }
  return out;
}

/** A relative saving against the baseline (positive = smaller): null where either is missing. */
export function saving(value: number | null, base: number | null): number | null {
  if (value === null || base === null || base === 0 || !Number.isFinite(value)) return null;
  return 1 - value / base;
}

export function baselineOf(run: RunRecord): VariantRecord | undefined {
  return run.variants.find((v) => v.isBaseline);
}
