import { buildReportModel } from "../report/build-model.js";
import { toChartConfig } from "../report/chart-spec.js";
import { fixed } from "../report/format.js";
import { renderHtml } from "../report/html.js";
import { readableTime } from "../report/tables.js";
import type { StoreReader } from "../store/reader.js";
import { compareRuns, deltaMark } from "../verdict/compare.js";
import { decideRun, storedGates } from "../verdict/decide-run.js";
import { historySeries } from "../verdict/history.js";
import type { Verdict } from "../verdict/policy.js";
import { loadViewAssets } from "./assets.js";

/** What every page is rendered with: the database's reader and this session's identity. */
export interface PageContext {
  reader: StoreReader;
  /** Who signs the reviews; undefined when neither --reviewer nor git's user.name names anyone. */
  reviewer: string | undefined;
  /** This session's CSRF token, handed to the page's script for its POSTs. */
  csrf: string;
  /** The database as the user named it. */
  db: string;
}

export const runHref = (id: number) => `/runs/${id}`;
export const historyHref = (plan: string) => `/plans/${encodeURIComponent(plan)}/history`;
export const compareHref = (a: number, b: number) => `/compare/${a}/${b}`;

const links = (more: Array<{ href: string; label: string }> = []) => [
  { href: "/", label: "runs" },
  ...more,
];

/** The viewer's own pages (everything but a run's) in one layout. */
function page(
  context: PageContext,
  fields: {
    title: string;
    eyebrow: string;
    links?: Array<{ href: string; label: string }>;
    runs?: unknown;
    compare?: unknown;
    history?: unknown;
    message?: string;
    charts?: ReturnType<typeof buildReportModel>["charts"];
  },
): string {
  const a = loadViewAssets();
  const charts = fields.charts ?? [];
  return a.page({
    title: fields.title,
    eyebrow: fields.eyebrow,
    runs: fields.runs ?? null,
    compare: fields.compare ?? null,
    history: fields.history ?? null,
    message: fields.message ?? null,
    charts,
    historyNote: null,
    csp: a.csp,
    css: a.css,
    script: a.script,
    version: a.version,
    view: { links: fields.links ?? links(), reviewer: context.reviewer ?? null },
    data: {
      charts: charts.map((spec) => ({
        id: spec.id,
        config: toChartConfig(spec, { responsive: true }),
      })),
      disagreements: { items: [] },
      view: { page: fields.runs ? "runs" : "other" },
    },
  });
}

/** Verdicts per run, kept while the run's status and reviews are what they were. */
const verdictCache = new Map<string, Verdict[]>();

function verdictsOf(reader: StoreReader, runId: number, status: string): Verdict[] {
  const reviews = reader.reviews(runId);
  const key = `${runId}:${status}:${reviews.map((r) => r.id).join(",")}`;
  let verdicts = verdictCache.get(key);
  if (!verdicts) {
    verdicts = decideRun(reader.facts(runId), undefined, reviews);
    // Bounded: the oldest entry goes first (a Map keeps insertion order).
    if (verdictCache.size >= 1000) verdictCache.delete(verdictCache.keys().next().value as string);
    verdictCache.set(key, verdicts);
  }
  return verdicts;
}

/** Runs listed, and how many of the newest have their verdicts decided for the list. */
const LISTED = 200;
const DECIDED = 30;

export function runsPage(context: PageContext): string {
  const listed = context.reader.listRuns(LISTED);
  const rows = listed.map((run, i) => {
    const previous = listed.slice(i + 1).find((r) => r.planName === run.planName);
    const complete = run.status === "complete";
    const decided = complete && i < DECIDED;
    const verdicts = decided ? verdictsOf(context.reader, run.id, run.status) : [];
    const reviews = complete ? context.reader.reviews(run.id) : [];
    return {
      id: run.id,
      href: runHref(run.id),
      plan: run.planName,
      historyHref: historyHref(run.planName),
      started: readableTime(run.startedAt),
      status: run.status,
      verdicts: verdicts.map((v) => ({
        variant: v.variant,
        verdict: v.verdict,
        ship: v.verdict === "SHIP",
      })),
      verdictNote: decided
        ? null
        : complete
          ? "open the run for its verdicts"
          : "no verdict until the run completes",
      reviews: reviews.length === 0 ? "none" : `${reviews.length} reviewed`,
      commit: run.gitCommit
        ? `${run.gitCommit.slice(0, 10)}${run.gitDirty ? " (dirty)" : ""}`
        : "—",
      host: run.host,
      previous: previous?.id ?? null,
      compareHref: previous ? compareHref(previous.id, run.id) : null,
    };
  });
  return page(context, {
    title: "Runs",
    eyebrow: context.db,
    runs: { db: context.db, rows, decided: DECIDED },
    ...(rows.length === 0 ? { message: "The database has no runs yet." } : {}),
  });
}

/**
 * A run's page: the static report's view model and templates, with the review queue added;
 * `cap` disagreeing items kept per suite (the report's default unless asked for more).
 */
export function runPage(context: PageContext, runId: number, cap?: number): string {
  const a = loadViewAssets();
  const input = context.reader.report(runId);
  const model = buildReportModel(input, cap === undefined ? {} : { disagreementCap: cap });
  const previous = context.reader.completeRuns(model.run.plan, 1, runId)[0];
  return renderHtml(model, {
    css: a.css,
    script: a.script,
    csp: a.csp,
    view: {
      links: links([
        { href: historyHref(model.run.plan), label: `history of ${model.run.plan}` },
        ...(previous === undefined
          ? []
          : [{ href: compareHref(previous, runId), label: `compare with run ${previous}` }]),
      ]),
      reviewer: context.reviewer ?? null,
    },
    data: {
      view: {
        page: "run",
        run: runId,
        baseline: model.baseline,
        reviewer: context.reviewer ?? null,
        csrf: context.csrf,
        reviews: input.reviews,
        endpoint: `/api/runs/${runId}/reviews`,
        // Suites with more disagreeing items than the page holds, and the cap that holds them all.
        capped: model.disagreements.suites
          .filter((s) => s.shown < s.regressions + s.improvements)
          .map((s) => ({ suite: s.suite, shown: s.shown, all: s.regressions + s.improvements })),
        allHref: `${runHref(runId)}?cap=${Math.max(0, ...model.disagreements.suites.map((s) => s.regressions + s.improvements))}`,
      },
    },
  });
}

const signed = (x: number) => (x >= 0 ? `+${fixed(x, 4)}` : fixed(x, 4));

export function comparePage(context: PageContext, before: number, after: number): string {
  const a = context.reader.facts(before);
  const b = context.reader.facts(after);
  const confidence = `${Math.round(storedGates(b.planJson).confidence * 100)} %`;
  const variants = compareRuns(a, b).map((v) => ({
    variant: v.variant,
    deltas: v.deltas.map((d) => {
      const mark = deltaMark(d);
      return {
        suite: d.suite,
        metric: d.metric,
        before: fixed(d.before, 4),
        after: fixed(d.after, 4),
        delta: signed(d.delta),
        interval: `[${signed(d.interval[0])}, ${signed(d.interval[1])}]`,
        n: d.n,
        mark,
        markClass: mark.replace(/\W+/g, "-"),
      };
    }),
  }));
  return page(context, {
    title: `Run ${before} → run ${after}`,
    eyebrow: "compare",
    links: links([
      { href: runHref(before), label: `run ${before}` },
      { href: runHref(after), label: `run ${after}` },
    ]),
    compare: { before, after, confidence, variants },
  });
}

export function historyPage(context: PageContext, plan: string, last = 30): string {
  const ids = context.reader.completeRuns(plan, last);
  const newest = ids.at(-1);
  if (newest === undefined) {
    return page(context, {
      title: `Plan ${plan}`,
      eyebrow: "history",
      message: `No complete run of plan ${plan} in this database.`,
    });
  }
  const series = historySeries(ids.map((id) => context.reader.facts(id))).map((s) => ({
    variant: s.variant,
    suite: s.suite,
    metric: s.metric,
    values: s.values.map((v) => fixed(v.value, 4)).join(" → "),
    moves:
      s.moves.map((m) => `run ${m.run}: ${signed(m.delta)} vs run ${m.from}`).join("; ") || "—",
  }));
  // The charts are the report's own history charts, drawn from the newest run over `last` runs.
  const model = buildReportModel(context.reader.report(newest, last - 1));
  return page(context, {
    title: `Plan ${plan}`,
    eyebrow: "history",
    history: {
      plan,
      runs: ids.map((id) => ({ id, href: runHref(id) })),
      series,
    },
    charts: model.charts.filter((c) => c.id.startsWith("history-")),
  });
}
