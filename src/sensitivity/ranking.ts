import { typeName } from "./groups.js";
import type { GroupResult } from "./sensitivity.js";

/** z of a two-sided 95 % normal interval. */
const Z95 = 1.959964;

/** One row of the ranked table, formatted. */
export interface RankedRow {
  rank: number;
  group: string;
  tensors: number;
  kld: string;
  interval: string;
  p99: string;
  sameTop: string;
  pplRatio: string;
}

/** Most sensitive first: by mean KLD, the group's name breaking ties. */
export function rankResults(results: readonly GroupResult[]): GroupResult[] {
  return [...results].sort(
    (a, b) => b.figures.meanKld - a.figures.meanKld || a.group.name.localeCompare(b.group.name),
  );
}

const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(3) : String(x));

export function rankedRows(results: readonly GroupResult[]): RankedRow[] {
  return rankResults(results).map((r, i) => {
    const f = r.figures;
    return {
      rank: i + 1,
      group: r.group.name,
      tensors: r.group.tensors.length,
      kld: sci(f.meanKld),
      interval: `${sci(f.meanKld - Z95 * f.meanKldError)} … ${sci(f.meanKld + Z95 * f.meanKldError)}`,
      p99: sci(f.p99Kld),
      sameTop: f.sameTopPct.toFixed(2),
      pplRatio: `${f.pplRatio.toFixed(5)} ± ${f.pplRatioError.toFixed(5)}`,
    };
  });
}

/** The ranked table as fixed-width text, for stdout. */
export function formatRankedTable(results: readonly GroupResult[]): string {
  const type = results[0] ? typeName(results[0].type) : "";
  const header = [
    "rank",
    "group",
    "tensors",
    `mean KLD (${type})`,
    "95 % interval",
    "same top %",
    "ppl ratio",
  ];
  const rows = rankedRows(results).map((r) => [
    String(r.rank),
    r.group,
    String(r.tensors),
    r.kld,
    r.interval,
    r.sameTop,
    r.pplRatio,
  ]);
  const widths = header.map((h, c) =>
    Math.max(h.length, ...rows.map((row) => (row[c] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 1 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
