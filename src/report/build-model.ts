import type { ReportInput } from "../store/read-report.js";
import type { RunRecord } from "../store/records.js";
import { storedGates } from "../verdict/decide-run.js";
import type { RunFacts } from "../verdict/facts.js";
import type { Gates } from "../verdict/gates.js";
import { decide, type Verdict } from "../verdict/policy.js";
import { buildCharts, type KeyMetric } from "./charts.js";
import { findDisagreements, primaryMetric } from "./disagreements.js";
import { DASH, duration, percent } from "./format.js";
import { readHistory } from "./history.js";
import { baselineOf, readTimings } from "./performance.js";
import {
  mean,
  type PerplexityFigures,
  perplexityFigures,
  qualityTables,
  suiteMetrics,
} from "./quality.js";
import { summarizeReviews } from "./review-summary.js";
import { sweepChart, sweepLevelsOf } from "./sweeps.js";
import { environment, memoryTable, performanceRows, readableTime } from "./tables.js";
import { verdictRows } from "./verdict-rows.js";
import type { ReportModel } from "./view-model.js";

export interface ReportOptions {
  /** Decide under these gates instead of those stored with the run. */
  gates?: Gates;
  /** Disagreeing items kept per suite (default 200). */
  disagreementCap?: number;
  /** Characters kept of each prompt, reference and output (default 2,000). */
  textCap?: number;
}

export const DEFAULT_DISAGREEMENT_CAP = 200;
export const DEFAULT_TEXT_CAP = 2000;

function keyMetrics(
  run: RunRecord,
  facts: RunFacts,
  perplexity: Map<string, Map<string, PerplexityFigures>>,
): KeyMetric[] {
  return run.suites.flatMap((suite): KeyMetric[] => {
    const ppl = perplexity.get(suite.id);
    if (ppl) {
      const values = new Map([...ppl].map(([name, p]) => [name, p.ppl]));
      return [{ suite: suite.id, metric: "perplexity", lowerIsBetter: true, values }];
    }
    const metric = primaryMetric(suiteMetrics(facts, suite.id));
    if (!metric) return [];
    const values = new Map<string, number>();
    for (const v of facts.variants) {
      const m = mean(v.quality.get(suite.id)?.get(metric)?.values() ?? []);
      if (m !== null) values.set(v.name, m);
    }
    return [{ suite: suite.id, metric, lowerIsBetter: false, values }];
  });
}

/** The report of a stored run from what the store read of it: `qbench report` and `qbench run` share it. */
export function buildReportModel(input: ReportInput, options: ReportOptions = {}): ReportModel {
  const gates = options.gates ?? storedGates(input.facts.planJson);
  return assembleReportModel(input, decide(input.facts, gates, input.reviews), gates, options);
}

/** The variants as the report lists them: the baseline first, then as stored. */
function baselineFirst(run: RunRecord): RunRecord {
  const variants = [...run.variants].sort((a, b) => Number(b.isBaseline) - Number(a.isBaseline));
  return { ...run, variants };
}

/** The model around verdicts already decided from the same input (the bench times the two apart). */
export function assembleReportModel(
  input: ReportInput,
  verdicts: Verdict[],
  gates: Gates,
  options: ReportOptions = {},
): ReportModel {
  const { facts } = input;
  const run = baselineFirst(input.run);
  const perplexity = perplexityFigures(run, input.aggregate);
  const timings = readTimings(run, facts);
  const history = readHistory(run, facts, perplexity, input.past);
  const confidence = percent(gates.confidence, 0);
  const rows = verdictRows(run, verdicts, timings, confidence);
  const started = Date.parse(run.startedAt);
  const finished = run.finishedAt ? Date.parse(run.finishedAt) : Number.NaN;
  const charts = buildCharts({
    run,
    timings,
    keyMetrics: keyMetrics(run, facts, perplexity),
    history,
  });
  const sweep = sweepChart(sweepLevelsOf(run, input.sweeps));
  if (sweep) charts.push(sweep);
  return {
    run: {
      id: run.id,
      plan: run.planName,
      planFile: run.planFile,
      status: run.status,
      startedAt: run.startedAt,
      started: readableTime(run.startedAt),
      finishedAt: run.finishedAt,
      duration: Number.isFinite(finished - started) ? duration(finished - started) : null,
      host: String(run.provenance.host ?? DASH),
    },
    baseline: baselineOf(run)?.name ?? null,
    counts: {
      variants: rows.length,
      variantsLabel: `${rows.length} variant${rows.length === 1 ? "" : "s"}`,
      ship: rows.filter((r) => r.verdict === "SHIP").length,
      noShip: rows.filter((r) => r.verdict === "NO-SHIP").length,
      failed: rows.filter((r) => r.failed).length,
    },
    confidence,
    verdicts: rows,
    quality: qualityTables(run, facts, verdicts, perplexity),
    performance: performanceRows(run, timings),
    memory: memoryTable(run, gates.budgets.deviceBytes),
    charts,
    historyNote: history.some((s) => s.runs.length >= 2)
      ? null
      : `No earlier complete run of plan ${run.planName} in this database: the history charts start with the next run.`,
    disagreements: findDisagreements(input.texts, run, facts, {
      cap: options.disagreementCap ?? DEFAULT_DISAGREEMENT_CAP,
      textCap: options.textCap ?? DEFAULT_TEXT_CAP,
    }),
    reviews: summarizeReviews(facts, input.reviews),
    environment: environment(run),
  };
}
