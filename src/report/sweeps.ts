import type { Db } from "../store/database.js";
import type { ChartPoint, ChartSpec } from "./chart-spec.js";
import { PALETTE } from "./charts.js";
import type { StoredRun } from "./stored-run.js";

interface SweepLevel {
  variant: string;
  concurrency: number | null;
  request_rate: number | null;
  output_throughput: number;
  ttft_p90_ms: number | null;
}

/**
 * Load sweeps of this run's variants (`qbench sweep`, migration 005): those tied to the run, and
 * standalone ones whose label is one of its variants — each variant's newest sweep.
 */
export function readSweepLevels(db: Db, run: StoredRun): Map<string, SweepLevel[]> {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sweep_runs'")
    .get();
  if (!table) return new Map();
  const names = run.variants.map((v) => v.name);
  const rows = db
    .prepare(
      `SELECT s.variant, l.concurrency, l.request_rate, l.output_throughput, l.ttft_p90_ms
       FROM sweep_levels l JOIN sweep_runs s ON s.id = l.sweep_id
       WHERE s.id IN (SELECT MAX(id) FROM sweep_runs WHERE run_id = ? OR run_id IS NULL GROUP BY variant)
       ORDER BY s.variant, l.ordinal`,
    )
    .all(run.id) as SweepLevel[];
  const out = new Map<string, SweepLevel[]>();
  for (const row of rows) {
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
