/**
 * A chart as data: what to draw, not how. The same spec becomes a chart.js configuration for the
 * browser (embedded in the HTML report) and for the PNG renderer, so both draw the same figures.
 */
export interface ChartPoint {
  x: number;
  y: number;
  /** Drawn beside the point (the variant's name). */
  label: string;
}

export interface ChartDataset {
  label: string;
  /** Bar and line charts: one value per label (null = not measured); scatter: points. */
  data: Array<number | null> | ChartPoint[];
  color: string;
  /** Which y axis ("y" or "y1" for a second, right-hand axis). */
  axis?: "y" | "y1";
}

export interface AxisSpec {
  title: string;
  beginAtZero?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** One sentence under the chart saying how to read it. */
  caption: string;
  kind: "bar" | "scatter" | "line";
  /** Categories of a bar or line chart (variants, runs). */
  labels: string[];
  datasets: ChartDataset[];
  x: AxisSpec;
  y: AxisSpec;
  y1?: AxisSpec;
}

/** A chart.js configuration: plain JSON, so it can be embedded in the report and parsed back. */
export type ChartConfig = {
  type: string;
  data: { labels?: string[]; datasets: Array<Record<string, unknown>> };
  options: Record<string, unknown>;
};

const TEXT = "#1f2933";
const GRID = "#e4e7eb";

function axis(spec: AxisSpec, position?: "left" | "right"): Record<string, unknown> {
  return {
    ...(position ? { position } : {}),
    beginAtZero: spec.beginAtZero ?? true,
    title: { display: true, text: spec.title, color: TEXT, font: { size: 12 } },
    ticks: { color: TEXT },
    grid: { color: GRID, ...(position === "right" ? { drawOnChartArea: false } : {}) },
  };
}

/** The chart.js configuration of a spec: no animation (drawn at once, the same every time). */
export function toChartConfig(spec: ChartSpec, options: { responsive: boolean }): ChartConfig {
  const datasets = spec.datasets.map((d) => ({
    label: d.label,
    data: d.data,
    backgroundColor: spec.kind === "bar" ? d.color : `${d.color}cc`,
    borderColor: d.color,
    borderWidth: spec.kind === "bar" ? 0 : 2,
    pointRadius: spec.kind === "scatter" ? 6 : 4,
    ...(spec.kind === "line" ? { spanGaps: true, tension: 0 } : {}),
    ...(d.axis ? { yAxisID: d.axis } : {}),
  }));
  return {
    type: spec.kind,
    data: { ...(spec.kind === "scatter" ? {} : { labels: spec.labels }), datasets },
    options: {
      animation: false,
      responsive: options.responsive,
      maintainAspectRatio: false,
      color: TEXT,
      font: { family: "Liberation Sans, Arial, Helvetica, sans-serif", size: 12 },
      plugins: {
        title: { display: true, text: spec.title, color: TEXT, font: { size: 15, weight: "bold" } },
        legend: { position: "bottom", labels: { color: TEXT } },
        qbenchBackground: { color: "#ffffff" },
        qbenchPointLabels: { enabled: spec.kind === "scatter", color: TEXT },
      },
      scales: {
        x: {
          ...axis(spec.x),
          // Room at the ends of a scatter's axis, so no point sits on the plot's edge.
          ...(spec.kind === "scatter" ? { type: "linear", grace: "5%" } : { beginAtZero: false }),
          ...(spec.kind === "line" ? { offset: true } : {}),
        },
        y: {
          ...axis(spec.y, spec.y1 ? "left" : undefined),
          ...(spec.kind === "scatter" ? { grace: "5%" } : {}),
        },
        ...(spec.y1 ? { y1: axis(spec.y1, "right") } : {}),
      },
    },
  };
}
