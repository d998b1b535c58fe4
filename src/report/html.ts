import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import { toChartConfig } from "./chart-spec.js";
import { jsonForScript } from "./json-script.js";
import type { ReportModel } from "./view-model.js";

/** reports/: the templates, partials, CSS and the page's script (beside src/ in the package). */
export const REPORTS_DIR = fileURLToPath(new URL("../../../reports/", import.meta.url));

export interface Assets {
  /** The report's handlebars environment: its partials and the json-script helper. */
  hb: typeof Handlebars;
  template: Handlebars.TemplateDelegate;
  css: string;
  script: string;
  csp: string;
  version: string;
}

let assets: Assets | undefined;

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("base64");

/** chart.js's own browser build, without its source-map comment (the report makes no requests). */
function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve("chart.js")), "chart.umd.js");
  return readFileSync(file, "utf8").replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n");
}

/** Inline code must not be able to end its element early. */
export function checkInline(name: string, text: string, forbidden: RegExp): string {
  if (forbidden.test(text)) throw new Error(`${name} cannot be inlined: it contains ${forbidden}`);
  return text;
}

/** The report's Content-Security-Policy for a page of this script and style, plus `more`. */
export function pageCsp(script: string, css: string, more: string[] = []): string {
  return [
    "default-src 'none'",
    `script-src 'sha256-${sha256(script)}'`,
    `style-src 'sha256-${sha256(css)}'`,
    "base-uri 'none'",
    "form-action 'none'",
    ...more,
  ].join("; ");
}

/** The report's compiled templates, CSS, script and CSP (read once). */
export function loadAssets(): Assets {
  if (assets) return assets;
  const hb = Handlebars.create();
  const partials = join(REPORTS_DIR, "partials");
  for (const file of readdirSync(partials).sort()) {
    if (file.endsWith(".hbs"))
      hb.registerPartial(file.slice(0, -4), readFileSync(join(partials, file), "utf8"));
  }
  // The one way data reaches the page's script: escaped JSON, never raw model text.
  hb.registerHelper("json-script", (value: unknown) => new hb.SafeString(jsonForScript(value)));
  const template = hb.compile(readFileSync(join(REPORTS_DIR, "report.hbs"), "utf8"), {
    strict: true,
  });
  const css = checkInline(
    "report.css",
    readFileSync(join(REPORTS_DIR, "report.css"), "utf8"),
    /<\//,
  );
  const script = checkInline(
    "the report script",
    [
      chartJsSource(),
      readFileSync(join(REPORTS_DIR, "chart-plugins.cjs"), "utf8"),
      readFileSync(join(REPORTS_DIR, "report-client.js"), "utf8"),
    ].join("\n"),
    /<\/script|<!--/i,
  );
  // Static script and style, so static hashes: nothing else may run or style the page.
  const csp = pageCsp(script, css);
  const pkg = JSON.parse(readFileSync(join(REPORTS_DIR, "../package.json"), "utf8")) as {
    version: string;
  };
  assets = { hb, template, css, script, csp, version: pkg.version };
  return assets;
}

/**
 * What a page of `qbench view` adds to the report of a run: its style and script after the
 * report's (the CSP names their hashes), fields for its navigation partial, and page data.
 */
export interface PageAdditions {
  css: string;
  script: string;
  csp: string;
  /** Template fields of the viewer's partials (`view-nav`). */
  view: Record<string, unknown>;
  /** Merged into the page's inline JSON. */
  data: Record<string, unknown>;
}

/** The self-contained HTML report: no request leaves the page, and no timestamp of rendering. */
export function renderHtml(model: ReportModel, additions?: PageAdditions): string {
  const a = loadAssets();
  const data = {
    charts: model.charts.map((spec) => ({
      id: spec.id,
      config: toChartConfig(spec, { responsive: true }),
    })),
    disagreements: { items: model.disagreements.items },
    ...additions?.data,
  };
  return a.template({
    ...model,
    csp: additions?.csp ?? a.csp,
    css: additions?.css ?? a.css,
    script: additions?.script ?? a.script,
    version: a.version,
    view: additions?.view ?? null,
    data,
  });
}
