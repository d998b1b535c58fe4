import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type Handlebars from "handlebars";
import { checkInline, loadAssets, pageCsp, REPORTS_DIR } from "../report/html.js";

/** reports/view/: the viewer's pages, style and script, laid out with the report's partials. */
const VIEW_DIR = join(REPORTS_DIR, "view");

export interface ViewAssets {
  /** The report's CSS, then the viewer's. */
  css: string;
  /** The report's script (chart.js, its plugins, the report's own), then the viewer's. */
  script: string;
  /** The report's policy, with requests to this origin allowed (the review POSTs). */
  csp: string;
  /** The same as an HTTP header, which also forbids framing (a meta tag cannot). */
  headerCsp: string;
  /** The viewer's own pages (run list, compare, history) in one layout. */
  page: Handlebars.TemplateDelegate;
  version: string;
}

let assets: ViewAssets | undefined;

export function loadViewAssets(): ViewAssets {
  if (assets) return assets;
  const report = loadAssets();
  const css = checkInline(
    "view.css",
    `${report.css}\n${readFileSync(join(VIEW_DIR, "view.css"), "utf8")}`,
    /<\//,
  );
  const script = checkInline(
    "the viewer's script",
    `${report.script}\n${readFileSync(join(VIEW_DIR, "view-client.js"), "utf8")}`,
    /<\/script|<!--/i,
  );
  // The viewer's pages are partials of the report's environment: the same escaping, the same helpers.
  for (const file of readdirSync(VIEW_DIR).sort()) {
    if (file.endsWith(".hbs") && file !== "page.hbs")
      report.hb.registerPartial(
        `view-${file.slice(0, -4)}`,
        readFileSync(join(VIEW_DIR, file), "utf8"),
      );
  }
  const page = report.hb.compile(readFileSync(join(VIEW_DIR, "page.hbs"), "utf8"), {
    strict: true,
  });
  const csp = pageCsp(script, css, ["connect-src 'self'"]);
  const headerCsp = `${csp}; frame-ancestors 'none'`;
  assets = { css, script, csp, headerCsp, page, version: report.version };
  return assets;
}
