import type { RunRecord } from "../store/records.js";
import type { SweepLevel } from "../store/sweeps.js";
import type { ChartPoint, ChartSpec } from "./chart-spec.js";
import { PALETTE } from "./charts.js";

/** The stored sweep levels of this run's variants, per variant (`qbench sweep`, migration 005). */
export function sweepLevelsOf(
  run: RunRecord,
  levels: readonly SweepLevel[],
): Map<string, SweepLevel[]> {
  const names = run.variants.map((v) => v.name);
  const out = new Map<string, SweepLevel[]>();
  for (const row of levels) {
    if (!names.includes(row.variant)) continue;
    out.set(row.variant, [...(out.get(row.variant) ?? []), row]);
  }
  return out;
}

/** Throughput against TTFT p90 per level, one curve per variant: down and to the right is better. */
export function sweepChart(levels: Map<string, SweepLevel[]>): ChartSpec | undefined {
  if (levels.size === 0) return undefined;
  return {
    id: "load-sweep",
    title: "Load sweep: throughput vs time to first token",
    caption:
      "Each point is one concurrency or request-rate level of qbench sweep: output tokens per second against TTFT p90; further right at the same height serves more.",
    kind: "scatter",
    labels: [],
    datasets: [...levels].map(([variant, rows], i) => ({
      label: variant,
      color: PALETTE[i % PALETTE.length] as string,
      data: rows
        .filter((r) => r.ttft_p90_ms !== null)
        .map(
          (r): ChartPoint => ({
            x: r.output_throughput,
            y: r.ttft_p90_ms as number,
            label: r.request_rate !== null ? `${r.request_rate} req/s` : `×${r.concurrency}`,
          }),
        ),
    })),
    x: { title: "output tokens/s", beginAtZero: true },
    y: { title: "TTFT p90 (ms)", beginAtZero: true },
  };
}
