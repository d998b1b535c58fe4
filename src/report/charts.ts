import type { RunRecord } from "../store/records.js";
import type { ChartPoint, ChartSpec } from "./chart-spec.js";
import type { HistorySeries } from "./history.js";
import type { Timings } from "./performance.js";

/** Tableau 10: distinct for up to ten series and readable for most colour-blind readers. */
export const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];
const color = (i: number) => PALETTE[i % PALETTE.length] as string;

/** Per suite, its key metric's value per variant (higher is better unless `lowerIsBetter`). */
export interface KeyMetric {
  suite: string;
  metric: string;
  lowerIsBetter: boolean;
  values: Map<string, number>;
}

export interface ChartInputs {
  run: RunRecord;
  timings: Map<string, Timings>;
  keyMetrics: KeyMetric[];
  history: HistorySeries[];
}

const finite = (x: number | null | undefined): number | null =>
  typeof x === "number" && Number.isFinite(x) ? x : null;

function unitFor(bytes: number): { name: string; scale: number } {
  return bytes >= 2 ** 30 ? { name: "GiB", scale: 2 ** 30 } : { name: "MiB", scale: 2 ** 20 };
}

/** A suite id as part of a file name (the PNG's): lower-case letters, digits and hyphens. */
export function fileSlug(text: string): string {
  const slug = text
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/, "");
  return slug || "suite";
}

/** `id`, or `id-2`, `id-3`…: two suites whose slugs agree still get a file each. */
function uniqueId(id: string, taken: Set<string>): string {
  let unique = id;
  for (let n = 2; taken.has(unique); n++) unique = `${id}-${n}`;
  taken.add(unique);
  return unique;
}

const hasData = (spec: ChartSpec) =>
  spec.datasets.some((d) => (d.data as Array<number | null | ChartPoint>).some((x) => x !== null));

/** The report's charts: quality vs size, speed, latency, memory, and each suite's history. */
export function buildCharts({ run, timings, keyMetrics, history }: ChartInputs): ChartSpec[] {
  const baseline = run.variants.find((v) => v.isBaseline);
  const unit = unitFor(baseline?.modelBytes ?? run.variants[0]?.modelBytes ?? 0);
  const labels = run.variants.map((v) => (v.status === "failed" ? `${v.name} (failed)` : v.name));
  const ok = (name: string) => run.variants.find((v) => v.name === name)?.status !== "failed";
  const charts: ChartSpec[] = [];
  if (baseline) {
    charts.push({
      id: "quality-size",
      title: "Quality vs model size",
      caption:
        "Each suite's key metric as a share of the baseline's (perplexity inverted, so higher is better) against the model file's size: up and to the left is better.",
      kind: "scatter",
      labels: [],
      datasets: keyMetrics.map((k, i) => {
        const base = k.values.get(baseline.name);
        const points: ChartPoint[] = [];
        for (const v of run.variants) {
          const value = k.values.get(v.name);
          if (!ok(v.name) || value === undefined || !base) continue;
          const share = k.lowerIsBetter ? base / value : value / base;
          points.push({ x: v.modelBytes / unit.scale, y: share * 100, label: v.name });
        }
        return { label: `${k.suite} · ${k.metric}`, data: points, color: color(i) };
      }),
      x: { title: `model size (${unit.name})`, beginAtZero: true },
      y: { title: "% of baseline", beginAtZero: false },
    });
  }
  const timing = (f: (t: Timings) => number) =>
    run.variants.map((v) => {
      const t = timings.get(v.name);
      return t ? finite(f(t)) : null;
    });
  charts.push({
    id: "speed",
    title: "Speed per variant (p50)",
    caption:
      "Decode tokens per second (left axis) and prefill tokens per second (right axis), medians over all generations.",
    kind: "bar",
    labels,
    datasets: [
      { label: "decode tokens/s", data: timing((t) => t.decodeTpsP50), color: color(0), axis: "y" },
      {
        label: "prefill tokens/s",
        data: timing((t) => t.prefillTpsP50),
        color: color(1),
        axis: "y1",
      },
    ],
    x: { title: "variant" },
    y: { title: "decode tokens/s" },
    y1: { title: "prefill tokens/s" },
  });
  charts.push({
    id: "latency",
    title: "Time to first token",
    caption:
      "TTFT percentiles in milliseconds (tokenization + prefill + first step): lower is better.",
    kind: "bar",
    labels,
    datasets: [
      { label: "p50", data: timing((t) => t.ttft.p50), color: color(0) },
      { label: "p90", data: timing((t) => t.ttft.p90), color: color(1) },
      { label: "p99", data: timing((t) => t.ttft.p99), color: color(2) },
    ],
    x: { title: "variant" },
    y: { title: "ms" },
  });
  const memory = (f: (v: RunRecord["variants"][number]) => number | null) =>
    run.variants.map((v) => {
      const x = f(v);
      return x === null ? null : x / unit.scale;
    });
  charts.push({
    id: "memory",
    title: "Memory per variant",
    caption: `Model file size, the runner's peak resident memory (VmHWM) and the memory the engine reports on its device, in ${unit.name}; each figure as stored, never mixed.`,
    kind: "bar",
    labels,
    datasets: [
      { label: "model file", data: memory((v) => v.modelBytes), color: color(0) },
      { label: "peak RSS", data: memory((v) => v.peakRssBytes), color: color(1) },
      { label: "engine device memory", data: memory((v) => v.engineDeviceBytes), color: color(2) },
      { label: "device peak (sampled)", data: memory((v) => v.devicePeakBytes), color: color(3) },
    ].filter((d) => d.data.some((x) => x !== null)),
    x: { title: "variant" },
    y: { title: unit.name },
  });
  const ids = new Set<string>();
  for (const s of history) {
    if (s.runs.length < 2) continue;
    charts.push({
      id: uniqueId(`history-${fileSlug(s.suite)}`, ids),
      title: `History: ${s.metric} on ${s.suite}`,
      caption: `${s.metric} of each variant over the last ${s.runs.length} complete runs of plan ${run.planName} (this run last).`,
      kind: "line",
      labels: s.runs.map((r) => `run ${r}`),
      datasets: s.variants.map((v, i) => ({ label: v.name, data: v.values, color: color(i) })),
      x: { title: "run" },
      y: { title: s.metric, beginAtZero: false },
    });
  }
  return charts.filter(hasData);
}
