/** The load-sweep table printed by `qbench sweep` and the bench: one row per level. */
import { describeLevel, type LevelResult } from "./load-sweep.js";
import type { Percentiles } from "./stats.js";

function ms(p: Percentiles | null): string {
  if (!p) return "–";
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  return `${f(p.p50)} / ${f(p.p90)} / ${f(p.p99)}`;
}

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
    .join("  ");
}

export function formatSweepTable(results: readonly LevelResult[]): string {
  const header = [
    "level",
    "ok/sent",
    "time s",
    "req/s",
    "out tok/s",
    "TTFT ms p50/p90/p99",
    "ITL ms p50/p90/p99",
    "TPOT ms p50",
    "good",
  ];
  const rows = results.map((r) => [
    describeLevel(r.level),
    `${r.completed}/${r.requests}`,
    r.durationS.toFixed(2),
    r.requestThroughput.toFixed(2),
    r.outputThroughput.toFixed(1),
    ms(r.ttft),
    ms(r.itl),
    r.tpot ? r.tpot.p50.toFixed(2) : "–",
    r.goodShare === null ? "–" : `${(r.goodShare * 100).toFixed(0)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const lines = [
    pad(header, widths),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map((r) => pad(r, widths)),
  ];
  for (const r of results) {
    for (const error of r.errors) lines.push(`  ${describeLevel(r.level)}: ${error}`);
  }
  return lines.join("\n");
}
