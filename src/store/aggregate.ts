import type { Db } from "./database.js";
import type { RunAggregate, RunRecord, SuiteAggregate } from "./records.js";

/**
 * Which metrics to aggregate: all (the summary), perplexity's per-chunk parts on perplexity
 * suites (the report's perplexity and KLD), or what a history chart shows (gated metrics and
 * perplexity's parts).
 */
export type AggregateScope = "all" | "perplexity" | "headline";

const PERPLEXITY = `AND m.name IN ('nll_sum', 'nll2_sum', 'tokens', 'kld_sum', 'same_top',
  'kld_covered_sum', 'kld_bound_tokens')`;
const SCOPES: Record<AggregateScope, string> = {
  all: "",
  perplexity: PERPLEXITY,
  headline: `AND (m.name = 'exact_match' OR m.name GLOB 'rouge*_f1'
    OR m.name IN ('nll_sum', 'nll2_sum', 'tokens', 'acc', 'acc_norm', 'acc_bytes', 'acc_mutual_info',
      'loglikelihood', 'll_words', 'll_bytes', 'truncated'))`,
};

/**
 * A run's results per variant × suite of the run, in SQL: counts of ok and failed results, and
 * each metric's mean and sum over the ok ones (failed items store no metrics). Each query is
 * bounded by a (variant, suite) prefix of the results index.
 */
export function aggregateRun(db: Db, run: RunRecord, scope: AggregateScope = "all"): RunAggregate {
  const counts = db.prepare(
    `SELECT SUM(status = 'ok') AS ok, SUM(status = 'error') AS failed
     FROM results WHERE variant_id = ? AND suite_id = ?`,
  );
  const metrics = db.prepare(
    `SELECT m.name, AVG(m.value) AS mean, SUM(m.value) AS total
     FROM results r JOIN metrics m ON m.result_id = r.id
     WHERE r.variant_id = ? AND r.suite_id = ? AND r.status = 'ok' ${SCOPES[scope]}
     GROUP BY m.name`,
  );
  // A perplexity suite's first result stores a token count (a generation suite's never does).
  const scored = db.prepare(
    `SELECT 1 FROM metrics WHERE name = 'tokens' AND result_id =
       (SELECT MIN(id) FROM results WHERE variant_id = ? AND suite_id = ?)`,
  );
  const measured = run.suites
    .map((s) => s.id)
    .filter(
      (suite) =>
        scope !== "perplexity" || run.variants.some((v) => scored.get(v.id, suite) !== undefined),
    );
  const suites = new Map<number, SuiteAggregate[]>();
  for (const v of run.variants) {
    suites.set(
      v.id,
      run.suites.map((s): SuiteAggregate => {
        const figures: SuiteAggregate = { suite: s.id, ok: 0, failed: 0, means: {}, sums: {} };
        if (!measured.includes(s.id)) return figures;
        const c = counts.get(v.id, s.id) as { ok: number | null; failed: number | null };
        figures.ok = c.ok ?? 0;
        figures.failed = c.failed ?? 0;
        for (const m of metrics.all(v.id, s.id) as Array<{
          name: string;
          mean: number;
          total: number;
        }>) {
          figures.means[m.name] = m.mean;
          figures.sums[m.name] = m.total;
        }
        return figures;
      }),
    );
  }
  return { run, suites };
}
