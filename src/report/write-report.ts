import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { ReportInput } from "../store/read-report.js";
import { buildReportModel, type ReportOptions } from "./build-model.js";
import { createChartRenderer } from "./chart-renderer.js";
import { renderHtml } from "./html.js";
import { renderJunit } from "./junit.js";
import { renderMarkdown } from "./markdown.js";
import type { ReportModel } from "./view-model.js";

export interface ReportOutputs {
  /** The HTML report. */
  html?: string;
  /** A folder for one PNG per chart. */
  pngDir?: string;
  /** The Markdown summary; "-" for stdout. */
  summary?: string;
  /** A file the Markdown summary is appended to (GitHub's $GITHUB_STEP_SUMMARY). */
  stepSummary?: string;
  junit?: string;
}

export interface WrittenReport {
  model: ReportModel;
  files: string[];
  /** The Markdown summary when it was asked for on stdout. */
  stdout: string;
}

function write(path: string, content: string | Buffer): string {
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** Renders a stored run to every output asked for; the model is built once, before any await. */
export async function writeReport(
  input: ReportInput,
  outputs: ReportOutputs,
  options: ReportOptions = {},
): Promise<WrittenReport> {
  const model = buildReportModel(input, options);
  const files: string[] = [];
  let stdout = "";
  if (outputs.html) files.push(write(outputs.html, renderHtml(model)));
  if (outputs.pngDir && model.charts.length > 0) {
    const renderer = await createChartRenderer();
    for (const spec of model.charts) {
      files.push(write(join(outputs.pngDir, `${spec.id}.png`), await renderer.renderPng(spec)));
    }
  }
  if (outputs.summary || outputs.stepSummary) {
    const markdown = renderMarkdown(model, {
      ...(outputs.html ? { reportName: basename(outputs.html) } : {}),
    });
    if (outputs.summary === "-") stdout = markdown;
    else if (outputs.summary) files.push(write(outputs.summary, markdown));
    if (outputs.stepSummary) appendFileSync(outputs.stepSummary, `${markdown}\n`);
  }
  if (outputs.junit) files.push(write(outputs.junit, renderJunit(model)));
  return { model, files, stdout };
}
