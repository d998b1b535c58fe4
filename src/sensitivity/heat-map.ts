import type { Grouping } from "./groups.js";
import type { GroupResult } from "./sensitivity.js";

/** Layers × roles, one cell per group measured: its mean KLD, or undefined where no group lies. */
export interface HeatMap {
  rows: string[];
  cols: string[];
  /** cells[row][col]: the group's name and mean KLD. */
  cells: ({ group: string; kld: number; bucket: number } | undefined)[][];
  /** The KLD range the 10 colour buckets span (log scale). */
  min: number;
  max: number;
}

export const BUCKETS = 10;

/** The order llama.cpp's layers hold their roles in, then anything else as found. */
const ROLE_ORDER = [
  "attn_q",
  "attn_k",
  "attn_v",
  "attn_qkv",
  "attn_output",
  "ffn_gate",
  "ffn_up",
  "ffn_down",
  "token_embd",
  "output",
];

const rank = (role: string) => {
  if (role === "all roles") return -1;
  const at = ROLE_ORDER.indexOf(role);
  return at < 0 ? ROLE_ORDER.length : at;
};

function rowOf(r: GroupResult, by: Grouping): string {
  if (r.group.layer !== undefined) return `blk.${r.group.layer}`;
  return by === "role" ? "all layers" : "outside layers";
}

/** The heat map of one type's results: rows are layers, columns roles (`all roles` for layer groups). */
export function buildHeatMap(results: readonly GroupResult[], by: Grouping): HeatMap {
  const rowSet = [...new Set(results.map((r) => rowOf(r, by)))];
  const layerNumber = (row: string) =>
    row.startsWith("blk.") ? Number(row.slice(4)) : Number.POSITIVE_INFINITY;
  const rows = rowSet.sort((a, b) => layerNumber(a) - layerNumber(b) || a.localeCompare(b));
  const cols = [...new Set(results.map((r) => r.group.role ?? "all roles"))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  const positive = results.map((r) => r.figures.meanKld).filter((k) => k > 0);
  const min = positive.length > 0 ? Math.min(...positive) : 0;
  const max = positive.length > 0 ? Math.max(...positive) : 0;
  const bucketOf = (kld: number) => {
    if (!(kld > 0) || max <= min) return kld > 0 ? BUCKETS - 1 : 0;
    const t = Math.log(kld / min) / Math.log(max / min);
    return Math.min(BUCKETS - 1, Math.max(0, Math.floor(t * BUCKETS)));
  };
  const cells = rows.map(() => cols.map(() => undefined as HeatMap["cells"][number][number]));
  for (const r of results) {
    const row = cells[rows.indexOf(rowOf(r, by))];
    if (row) {
      row[cols.indexOf(r.group.role ?? "all roles")] = {
        group: r.group.name,
        kld: r.figures.meanKld,
        bucket: bucketOf(r.figures.meanKld),
      };
    }
  }
  return { rows, cols, cells, min, max };
}

/** Light to dark: the heat map's colour per bucket (the HTML page's CSS has the same). */
export const PALETTE = [
  "#fff7ec",
  "#fee8c8",
  "#fdd49e",
  "#fdbb84",
  "#fc8d59",
  "#ef6548",
  "#d7301f",
  "#b30000",
  "#7f0000",
  "#4d0000",
];

/** The heat map as a PNG, drawn directly on @napi-rs/canvas (chart.js has no matrix chart). */
export async function renderHeatMapPng(map: HeatMap, title: string): Promise<Buffer> {
  const { createCanvas } = await import("@napi-rs/canvas");
  const cellW = 92;
  const cellH = 30;
  const left = 130;
  const top = 64;
  const scale = 2;
  const width = Math.max(620, left + cellW * Math.max(1, map.cols.length) + 20);
  const height = top + cellH * Math.max(1, map.rows.length) + 40;
  const canvas = createCanvas(width * scale, height * scale);
  const g = canvas.getContext("2d");
  g.scale(scale, scale);
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, width, height);
  g.fillStyle = "#1f2933";
  g.font = "bold 14px sans-serif";
  g.fillText(title, 10, 22);
  g.font = "12px sans-serif";
  g.textAlign = "center";
  for (const [c, col] of map.cols.entries())
    g.fillText(col, left + c * cellW + cellW / 2, top - 10);
  for (const [r, row] of map.rows.entries()) {
    g.textAlign = "right";
    g.fillStyle = "#1f2933";
    g.fillText(row, left - 8, top + r * cellH + cellH / 2 + 4);
    g.textAlign = "center";
    for (const [c, cell] of (map.cells[r] ?? []).entries()) {
      const x = left + c * cellW;
      const y = top + r * cellH;
      g.fillStyle = cell ? (PALETTE[cell.bucket] ?? "#ffffff") : "#f0f0f0";
      g.fillRect(x + 1, y + 1, cellW - 2, cellH - 2);
      if (cell) {
        g.fillStyle = cell.bucket >= 6 ? "#ffffff" : "#1f2933";
        g.fillText(cell.kld.toExponential(2), x + cellW / 2, y + cellH / 2 + 4);
      }
    }
  }
  g.textAlign = "left";
  g.fillStyle = "#616e7c";
  g.fillText(
    `mean KLD per scored token, log colour scale ${map.min.toExponential(2)} … ${map.max.toExponential(2)}`,
    10,
    height - 14,
  );
  return canvas.encode("png");
}
