import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { REPORTS_DIR } from "../report/html.js";
import { openDatabase } from "../store/database.js";
import { recordSensitivity, type SensitivityGroupRow } from "../store/sensitivity.js";
import type { Mode } from "./assign.js";
import { type Grouping, typeName } from "./groups.js";
import { buildHeatMap, renderHeatMapPng } from "./heat-map.js";
import { renderSensitivityHtml } from "./page.js";
import { rankResults } from "./ranking.js";
import type { Baseline, GroupResult } from "./sensitivity.js";

export interface SensitivityRecord {
  command: "sensitivity" | "mix";
  baseline: Baseline;
  textPath: string;
  grouping: Grouping;
  mode: Mode;
  byType: readonly (readonly GroupResult[])[];
  backend: string;
  startedAt: Date;
  seconds: number;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function groupRows(results: readonly GroupResult[]): SensitivityGroupRow[] {
  return rankResults(results).map((r, i) => ({
    type: typeName(r.type),
    groupName: r.group.name,
    layer: r.group.layer ?? null,
    role: r.group.role ?? null,
    tensors: r.group.tensors.length,
    quantizedWeights: r.quantizedWeights,
    meanKld: r.figures.meanKld,
    meanKldError: r.figures.meanKldError,
    p99Kld: r.figures.p99Kld,
    sameTopPct: r.figures.sameTopPct,
    ppl: r.figures.ppl,
    pplRatio: r.figures.pplRatio,
    pplRatioError: r.figures.pplRatioError,
    quantizeSeconds: r.quantizeSeconds,
    passSeconds: r.passSeconds,
    reused: r.reused,
    rank: i + 1,
  }));
}

/** Stores the run in the database beside qbench's runs; returns its id. */
export async function storeSensitivity(dbPath: string, r: SensitivityRecord): Promise<number> {
  const { baseline } = r;
  const [modelSha256, textSha256] = await Promise.all([
    fileSha256(baseline.setup.model),
    fileSha256(r.textPath),
  ]);
  const db = openDatabase(dbPath);
  try {
    return recordSensitivity(
      db,
      {
        command: r.command,
        model: baseline.setup.model,
        modelSha256,
        modelBytes: baseline.sourceBytes,
        text: r.textPath,
        textSha256,
        grouping: r.grouping,
        mode: r.mode,
        ctx: baseline.setup.ctx,
        chunks: baseline.pass.chunks.length,
        scoredTokens: baseline.pass.scored.reduce((n, s) => n + s.logprobs.length, 0),
        kldMethod: baseline.exact ? "exact" : "top-k",
        topK: baseline.exact ? null : baseline.setup.topK,
        baselineMassCovered: baseline.setup.kld === "exact" ? null : baseline.coverage,
        baselinePpl: baseline.ppl,
        imatrix: baseline.setup.imatrix?.path ?? null,
        backend: r.backend,
        host: hostname(),
        startedAt: r.startedAt.toISOString(),
        seconds: r.seconds,
        baselineSeconds: baseline.pass.seconds,
      },
      r.byType.flatMap(groupRows),
    );
  } finally {
    db.close();
  }
}

/** Writes `<stem>.html` and one `<stem>-<type>.png` per type into `dir`; returns their paths. */
export async function writeSensitivityPages(
  dir: string,
  stem: string,
  r: SensitivityRecord,
): Promise<{ html: string; png: string[] }> {
  await mkdir(dir, { recursive: true });
  const { version } = JSON.parse(readFileSync(join(REPORTS_DIR, "../package.json"), "utf8")) as {
    version: string;
  };
  const html = join(dir, `${stem}.html`);
  await writeFile(
    html,
    renderSensitivityHtml({
      baseline: r.baseline,
      textPath: r.textPath,
      grouping: r.grouping,
      mode: r.mode,
      byType: r.byType,
      version,
    }),
  );
  const png: string[] = [];
  for (const results of r.byType) {
    const type = typeName(results[0]?.type ?? 0);
    const path = join(dir, `${stem}-${type.toLowerCase()}.png`);
    const title = `${type}, ${r.mode === "only" ? "only the group quantized" : "all but the group"}: mean KLD`;
    await writeFile(path, await renderHeatMapPng(buildHeatMap(results, r.grouping), title));
    png.push(path);
  }
  return { html, png };
}
