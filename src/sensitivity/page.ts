import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import Handlebars from "handlebars";
import { REPORTS_DIR } from "../report/html.js";
import type { Mode } from "./assign.js";
import { type Grouping, typeName } from "./groups.js";
import { buildHeatMap } from "./heat-map.js";
import { rankedRows } from "./ranking.js";
import type { Baseline, GroupResult } from "./sensitivity.js";

export interface PageInput {
  baseline: Baseline;
  textPath: string;
  grouping: Grouping;
  mode: Mode;
  /** One list of results per type measured. */
  byType: readonly (readonly GroupResult[])[];
  version: string;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("base64");

/**
 * The sensitivity page: self-contained HTML with no script, its one stylesheet allowed by hash
 * (as the report's CSP does), every name escaped by handlebars.
 */
export function renderSensitivityHtml(input: PageInput): string {
  const css = readFileSync(join(REPORTS_DIR, "sensitivity.css"), "utf8");
  if (/<\//.test(css)) throw new Error("sensitivity.css cannot be inlined: it contains </");
  const template = Handlebars.create().compile(
    readFileSync(join(REPORTS_DIR, "sensitivity.hbs"), "utf8"),
    { strict: false },
  );
  const { baseline } = input;
  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${sha256(css)}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  const sci = (x: number) => x.toExponential(2);
  return template({
    csp,
    css,
    version: input.version,
    modelName: basename(baseline.setup.model),
    model: baseline.setup.model,
    text: input.textPath,
    chunks: baseline.pass.chunks.length,
    ctx: baseline.setup.ctx,
    tokens: baseline.pass.scored.reduce((n, s) => n + s.logprobs.length, 0),
    grouping: input.grouping,
    mode: input.mode,
    only: input.mode === "only",
    baselinePpl: baseline.ppl.toFixed(4),
    bound: !baseline.exact,
    topK: baseline.setup.topK,
    covered: `${(100 * baseline.coverage).toFixed(2)} %`,
    method:
      "KLD exact: each variant's runner evaluated the source in lockstep over the whole vocabulary.",
    types: input.byType.map((results) => {
      const map = buildHeatMap(results, input.grouping);
      return {
        type: typeName(results[0]?.type ?? 0),
        map: {
          cols: map.cols,
          min: sci(map.min),
          max: sci(map.max),
          rows: map.rows.map((label, r) => ({
            label,
            cells: (map.cells[r] ?? []).map((c) =>
              c ? { group: c.group, bucket: c.bucket, kldText: sci(c.kld) } : null,
            ),
          })),
        },
        ranked: rankedRows(results),
      };
    }),
  });
}
