import { clip } from "./format.js";
import type { ReportModel, VerdictRow } from "./view-model.js";

/**
 * Text for a Markdown table cell: pipes and line breaks would end the cell, and job pages render
 * HTML inside Markdown, so `<`, `>` and `&` become entities and other markup is escaped.
 */
export function markdownCell(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*[\]|~])/g, "\\$1")
    .replace(/\s*[\r\n\u2028\u2029]+\s*/g, " ")
    .trim();
}

const deciding = (d: VerdictRow["deciding"]) =>
  d ? `${d.what}: ${d.figure}${d.interval ? ` (${d.interval})` : ""} — ${d.outcome}` : "—";

/** Review counts per variant and who reviewed, or that nobody has. */
function reviewLine(model: ReportModel): string {
  const { reviews } = model;
  if (reviews.reviewed === 0) return "Reviews: none yet (`qbench view`).";
  const per = reviews.rows
    .map(
      (r) =>
        `${markdownCell(r.variant)} ${r.reviewed}/${r.disagreeing} reviewed (${r.acceptable} acceptable, ${r.notAcceptable} not, ${r.unsure} unsure; ${r.unreviewedRegressions} regressions not reviewed)`,
    )
    .join(" · ");
  return `Reviews: ${per}. By ${reviews.reviewers.map(markdownCell).join(", ")}.`;
}

const ICON = { SHIP: "✅ SHIP", "NO-SHIP": "❌ NO-SHIP" } as const;

/** A short verdict table with the key deltas, for a CI job page ($GITHUB_STEP_SUMMARY) or a PR comment. */
export function renderMarkdown(model: ReportModel, options: { reportName?: string } = {}): string {
  const lines = [
    `### qbench · ${markdownCell(model.run.plan)} · run ${model.run.id}: ${model.counts.ship} of ${markdownCell(model.counts.variantsLabel)} ship`,
    "",
    "| variant | verdict | model size | deciding figure | decode p50 | why |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const v of model.verdicts) {
    const name = `${markdownCell(v.variant)} (${markdownCell(v.precision)})${v.baseline ? " · baseline" : ""}`;
    const size = `${v.size}${v.sizeChange ? ` (${v.sizeChange})` : ""}`;
    let why: string;
    if (v.failed) why = `failed to run: ${clip(v.error ?? "unknown error", 160)}`;
    else if (v.blocking.length > 0) {
      const first = v.blocking[0]?.message ?? "";
      const more = v.blocking.length > 1 ? ` (+${v.blocking.length - 1} more)` : "";
      why = `${clip(first, 160)}${more}`;
    } else why = v.baseline ? "baseline" : `passes (${v.tally})`;
    lines.push(
      `| ${name} | ${ICON[v.verdict]} | ${markdownCell(size)} | ${markdownCell(deciding(v.deciding))} | ${markdownCell(v.speed ?? "—")} | ${markdownCell(why)} |`,
    );
  }
  lines.push("", reviewLine(model), "");
  const failed = model.counts.failed > 0 ? ` ${model.counts.failed} failed to run.` : "";
  const intervals = `Quality is judged on ${model.confidence} intervals against the baseline ${markdownCell(model.baseline ?? "—")}.${failed}`;
  lines.push(
    options.reportName
      ? `${intervals} Full report: \`${options.reportName.replace(/`/g, "")}\`.`
      : intervals,
  );
  return `${lines.join("\n")}\n`;
}
