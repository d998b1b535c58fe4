import { rollingFigures } from "../scoring/loglikelihood.js";
import { combinePerplexity } from "../scoring/perplexity.js";
import type { RunAggregate } from "../store/records.js";

export interface SuiteFigures {
  suite: string;
  n: number;
  failed: number;
  /** Means of per-item metrics (exact_match, rouge*_f1, …), or ppl figures for perplexity suites. */
  metrics: Record<string, number>;
}

export interface VariantSummary {
  name: string;
  precision: string;
  baseline: boolean;
  status: string;
  error: string | null;
  modelBytes: number;
  suites: SuiteFigures[];
}

export interface RunSummary {
  runId: number;
  plan: string;
  status: string;
  /** The slice this run holds, when the plan was split with --shard (0-based index). */
  shard: { index: number; count: number } | undefined;
  variants: VariantSummary[];
}

const PPL_PARTS = new Set(["nll_sum", "nll2_sum", "tokens"]);
/** A log-likelihood suite's per-item parts, shown as lm-eval's aggregates instead. */
const LL_PARTS = new Set(["loglikelihood", "ll_words", "ll_bytes"]);

/** A stored run per variant × suite, from the store's aggregation of it. */
export function summarizeRun({ run, suites }: RunAggregate): RunSummary {
  return {
    runId: run.id,
    plan: run.planName,
    status: run.status,
    shard: run.shard.count > 1 ? run.shard : undefined,
    variants: run.variants.map((v) => ({
      name: v.name,
      precision: v.precision,
      baseline: v.isBaseline,
      status: v.status,
      error: v.error,
      modelBytes: v.modelBytes,
      suites: (suites.get(v.id) ?? []).map((s): SuiteFigures => {
        const metrics: Record<string, number> = {};
        for (const [name, mean] of Object.entries(s.means))
          if (!PPL_PARTS.has(name) && !LL_PARTS.has(name)) metrics[name] = mean;
        // Items cut from the left to fit (stored as 1 on those only): a count, not a mean.
        if (s.sums.truncated !== undefined) metrics.truncated = s.sums.truncated;
        Object.assign(metrics, likelihoodFigures(s.means, s.sums));
        if (Object.keys(s.sums).some((name) => PPL_PARTS.has(name))) {
          const estimate = combinePerplexity([
            {
              nllSum: s.sums.nll_sum ?? 0,
              nll2Sum: s.sums.nll2_sum ?? 0,
              count: s.sums.tokens ?? 0,
            },
          ]);
          Object.assign(metrics, {
            ppl: estimate.ppl,
            ppl_error: estimate.pplError,
            ppl_tokens: estimate.tokens,
          });
        }
        return { suite: s.suite, n: s.ok, failed: s.failed, metrics };
      }),
    })),
  };
}

/** lm-eval's aggregates: perplexity = exp(−mean ll); rolling: per word and byte of the documents. */
function likelihoodFigures(
  means: Record<string, number>,
  sums: Record<string, number>,
): Record<string, number> {
  const ll = sums.loglikelihood;
  if (ll === undefined) return {};
  if (sums.ll_words !== undefined && sums.ll_bytes !== undefined) {
    return rollingFigures(ll, sums.ll_words, sums.ll_bytes);
  }
  return { perplexity: Math.exp(-(means.loglikelihood ?? 0)) };
}

/** The headline figures of a suite, in display order. */
export function headlineMetrics(figures: SuiteFigures): Array<[string, number]> {
  const order = [
    "exact_match",
    "acc",
    "acc_norm",
    "acc_bytes",
    "acc_mutual_info",
    "rouge1_f1",
    "rouge2_f1",
    "rougeL_f1",
    "rougeLsum_f1",
    "ppl",
    "perplexity",
    "word_perplexity",
    "byte_perplexity",
    "bits_per_byte",
    "truncated",
  ];
  return order
    .filter((k) => figures.metrics[k] !== undefined)
    .map((k) => [k, figures.metrics[k] as number]);
}

/** A plain-text table of the run for the terminal. */
export function formatSummary(summary: RunSummary): string {
  const shard = summary.shard ? `, shard ${summary.shard.index + 1}/${summary.shard.count}` : "";
  const lines = [`run ${summary.runId} (${summary.plan}${shard}): ${summary.status}`];
  for (const v of summary.variants) {
    const tag = v.baseline ? " [baseline]" : "";
    const size = `${(v.modelBytes / 1024 / 1024).toFixed(2)} MiB`;
    lines.push(
      `  ${v.name} (${v.precision}, ${size})${tag}: ${v.status}${v.error ? ` — ${v.error}` : ""}`,
    );
    for (const s of v.suites) {
      const figures = headlineMetrics(s)
        .map(([k, value]) =>
          k === "truncated"
            ? `truncated ${value}`
            : `${k} ${k.endsWith("ppl") || k.includes("perplexity") || k === "bits_per_byte" ? value.toFixed(4) : value.toFixed(3)}`,
        )
        .join("  ");
      const failed = s.failed > 0 ? `, ${s.failed} failed` : "";
      lines.push(`    ${s.suite.padEnd(18)} n=${s.n}${failed}  ${figures}`);
    }
  }
  return lines.join("\n");
}
