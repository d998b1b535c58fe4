import { combinePerplexity } from "../scoring/perplexity.js";
import type { RunAggregate, RunRecord, SuiteAggregate } from "../store/records.js";
import type { RunFacts, VariantFacts } from "../verdict/facts.js";
import { BINARY_METRICS } from "../verdict/flips.js";
import type { Reason, Verdict } from "../verdict/policy.js";
import { change, DASH, fixed, percent, relativeChange } from "./format.js";
import type { QualityCell, QualitySuite } from "./view-model.js";

/** Per variant and perplexity suite: the stored sums perplexity and KLD are computed from. */
export interface PerplexityFigures {
  ppl: number;
  pplError: number;
  tokens: number;
  /** Mean KL(P_baseline ‖ P_variant) and the share of tokens with the same top token; variants only. */
  meanKld: number | null;
  sameTop: number | null;
  /** Where the KLD is a top-K lower bound: the baseline mass its kept entries cover (mean). */
  kldCovered: number | null;
}

const METRIC_ORDER = [
  "exact_match",
  "acc",
  "acc_norm",
  "acc_bytes",
  "acc_mutual_info",
  "rouge1_f1",
  "rouge2_f1",
  "rougeL_f1",
  "rougeLsum_f1",
];

/** Gated metrics of a suite in display order: exact match, accuracies, ROUGE F1, the rest. */
export function suiteMetrics(facts: RunFacts, suite: string): string[] {
  const names = new Set<string>();
  for (const v of facts.variants) for (const m of v.quality.get(suite)?.keys() ?? []) names.add(m);
  const rank = (m: string) => (METRIC_ORDER.includes(m) ? METRIC_ORDER.indexOf(m) : 99);
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export function mean(values: Iterable<number>): number | null {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    sum += v;
    n++;
  }
  return n === 0 ? null : sum / n;
}

/** One variant's aggregate on one suite, if it stored any. */
export function suiteAggregate(
  aggregate: RunAggregate,
  variantId: number,
  suite: string,
): SuiteAggregate | undefined {
  return aggregate.suites.get(variantId)?.find((s) => s.suite === suite);
}

/** Perplexity from a suite's summed per-chunk parts; undefined where no token was scored. */
export function perplexityOfSums(
  sums: Record<string, number>,
): ReturnType<typeof combinePerplexity> | undefined {
  const tokens = sums.tokens ?? 0;
  if (tokens === 0) return undefined;
  return combinePerplexity([
    { nllSum: sums.nll_sum ?? 0, nll2Sum: sums.nll2_sum ?? 0, count: tokens },
  ]);
}

/** Perplexity and KLD per variant × suite from the aggregated per-chunk sums (failed items store no metrics). */
export function perplexityFigures(
  run: RunRecord,
  aggregate: RunAggregate,
): Map<string, Map<string, PerplexityFigures>> {
  const out = new Map<string, Map<string, PerplexityFigures>>();
  for (const suite of run.suites) {
    const sums = run.variants.map((v) => ({
      name: v.name,
      sums: suiteAggregate(aggregate, v.id, suite.id)?.sums ?? {},
    }));
    if (!sums.some((v) => v.sums.tokens !== undefined)) continue;
    const bySuite = new Map<string, PerplexityFigures>();
    for (const v of sums) {
      const estimate = perplexityOfSums(v.sums);
      if (!estimate) continue;
      const { kld_sum: kld, same_top: sameTop } = v.sums;
      const { kld_covered_sum: covered, kld_bound_tokens: bound } = v.sums;
      bySuite.set(v.name, {
        ppl: estimate.ppl,
        pplError: estimate.pplError,
        tokens: estimate.tokens,
        meanKld: kld === undefined ? null : kld / estimate.tokens,
        sameTop: sameTop === undefined ? null : sameTop / estimate.tokens,
        kldCovered: covered === undefined || !bound ? null : covered / bound,
      });
    }
    out.set(suite.id, bySuite);
  }
  return out;
}

function formatValue(metric: string, value: number | null): string {
  if (value === null) return DASH;
  return BINARY_METRICS.has(metric) ? percent(value) : fixed(value, 3);
}

/** Three significant figures for small positive figures such as a KLD: 0.000750. */
function small(x: number | null): string {
  return x === null || !Number.isFinite(x) ? DASH : x.toPrecision(3);
}

function cellFromReason(value: string, reason: Reason | undefined, fallback: number | null) {
  if (!reason) {
    return {
      value,
      delta: fallback === null ? null : change(fallback),
      interval: null,
      status: "none",
      title: "not gated",
    } satisfies QualityCell;
  }
  const rel = reason.value === null ? null : relativeChange(reason.value, reason.interval);
  return {
    value,
    delta: rel
      ? rel.identical
        ? "no change"
        : rel.change
      : reason.n === 0
        ? "no paired items"
        : "no ratio: the baseline scores 0",
    interval: rel?.interval ?? null,
    status: reason.status,
    title: reason.message,
  } satisfies QualityCell;
}

const plainCell = (value: string, title: string): QualityCell => ({
  value,
  delta: null,
  interval: null,
  status: "none",
  title,
});
const baselineCell = (value: string) => plainCell(value, "baseline");

/** One table per suite: a row per variant, a column per gated metric, Δ vs baseline with its interval. */
export function qualityTables(
  run: RunRecord,
  facts: RunFacts,
  verdicts: Verdict[],
  perplexity: Map<string, Map<string, PerplexityFigures>>,
): QualitySuite[] {
  const factsOf = new Map<string, VariantFacts>(facts.variants.map((v) => [v.name, v]));
  const reasonsOf = new Map(verdicts.map((v) => [v.variant, v.reasons]));
  const baseline = run.variants.find((v) => v.isBaseline);
  const tables: QualitySuite[] = [];
  for (const suite of run.suites) {
    const ppl = perplexity.get(suite.id);
    const metrics = suiteMetrics(facts, suite.id);
    if (metrics.length === 0 && !ppl) continue;
    const baseFacts = baseline ? factsOf.get(baseline.name) : undefined;
    const baseMeans = new Map(
      metrics.map((m) => [m, mean(baseFacts?.quality.get(suite.id)?.get(m)?.values() ?? [])]),
    );
    const rows = run.variants.map((v) => {
      const f = factsOf.get(v.name);
      const reasons = reasonsOf.get(v.name) ?? [];
      const find = (gate: string, metric: string) =>
        reasons.find((r) => r.gate === gate && r.suite === suite.id && r.metric === metric);
      const cells: QualityCell[] = metrics.map((metric) => {
        const items = f?.quality.get(suite.id)?.get(metric);
        const value = mean(items?.values() ?? []);
        const text = formatValue(metric, value);
        if (v.isBaseline) return baselineCell(text);
        const base = baseMeans.get(metric) ?? null;
        const fallback = value !== null && base ? value / base - 1 : null;
        return cellFromReason(text, find("quality", metric), fallback);
      });
      let n = Math.max(0, ...metrics.map((m) => f?.quality.get(suite.id)?.get(m)?.size ?? 0));
      if (ppl) {
        const p = ppl.get(v.name);
        const pplText = p ? `${fixed(p.ppl, 4)} ± ${fixed(p.pplError, 4)}` : DASH;
        if (v.isBaseline) cells.push(baselineCell(pplText), baselineCell(DASH), baselineCell(DASH));
        else {
          cells.push(cellFromReason(pplText, find("perplexity", "ppl_ratio"), null));
          const kld = find("kld", "mean_kld");
          const covered = p?.kldCovered ?? null;
          cells.push({
            // A top-K KLD is a lower bound: shown as one, with the baseline mass it covers.
            value: `${covered === null ? "" : "≥ "}${small(p?.meanKld ?? null)}`,
            delta: null,
            interval: kld?.interval
              ? `[${small(kld.interval[0])}, ${small(kld.interval[1])}]`
              : null,
            status: kld?.status ?? "none",
            title: `${kld?.message ?? "not gated"}${covered === null ? "" : ` — lower bound, the baseline's top-K covers ${percent(covered, 2)} of its mass`}`,
          });
          cells.push(
            plainCell(
              percent(p?.sameTop ?? null, 2),
              "share of scored tokens whose most likely next token is the baseline's",
            ),
          );
        }
        n = Math.max(n, p?.tokens ?? 0);
      }
      return {
        variant: v.name,
        baseline: v.isBaseline,
        failed: v.status === "failed",
        n: n === 0 ? DASH : `${fixed(n, 0)}${ppl && metrics.length === 0 ? " tokens" : ""}`,
        cells,
      };
    });
    tables.push({
      suite: suite.id,
      description: suite.description,
      columns: [...metrics, ...(ppl ? ["perplexity", "mean KLD", "same top token"] : [])],
      rows,
    });
  }
  return tables;
}
