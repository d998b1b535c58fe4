import { measuredCapacity } from "../capacity/capacity.js";
import { mcnemarExact, pairedBootstrap } from "../scoring/bootstrap.js";
import { comparePerplexity, summarizeKld } from "../scoring/kld.js";
import { quantile } from "../scoring/quantile.js";
import { pairValues } from "../store/item-column.js";
import type { RunFacts, TokenFacts, VariantFacts } from "./facts.js";
import { BINARY_METRICS, countFlips } from "./flips.js";
import { flipsFinding } from "./flips-gate.js";
import type { Gates } from "./gates.js";
import { judgeInterval, level } from "./interval.js";
import { asBound } from "./kld-bound.js";
import { type ReviewFact, reviewGates } from "./review-gate.js";
import { type Judgement, judgeAtLeast, judgeAtMost, normalQuantile } from "./stats.js";

export { MIN_PAIRED_ITEMS } from "./interval.js";

export type ReasonStatus = Judgement | "warn" | "info";

/** One gate's finding: the metric, the figure, the threshold and the interval it was judged on. */
export interface Reason {
  gate:
    | "failures"
    | "quality"
    | "flips"
    | "perplexity"
    | "kld"
    | "length"
    | "budget"
    | "speed"
    | "review";
  suite?: string;
  metric: string;
  status: ReasonStatus;
  /** Whether this finding makes the variant NO-SHIP. */
  blocking: boolean;
  value: number | null;
  threshold: number | null;
  interval?: [number, number];
  n?: number;
  message: string;
}

export interface Verdict {
  variant: string;
  precision: string;
  baseline: boolean;
  verdict: "SHIP" | "NO-SHIP";
  reasons: Reason[];
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const num = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

function concatPaired(
  variant: TokenFacts,
  baseline: TokenFacts,
): { v: Float32Array[]; b: Float32Array[]; kld: Float32Array[]; same: Uint8Array[] } {
  const out = {
    v: [] as Float32Array[],
    b: [] as Float32Array[],
    kld: [] as Float32Array[],
    same: [] as Uint8Array[],
  };
  for (const [item, facts] of variant.items) {
    const base = baseline.items.get(item);
    if (!base || base.logprobs.length !== facts.logprobs.length) continue;
    out.v.push(facts.logprobs);
    out.b.push(base.logprobs);
    if (facts.kld && facts.sameTop) {
      out.kld.push(facts.kld);
      out.same.push(facts.sameTop);
    }
  }
  return out;
}

function flat<T extends Float32Array | Uint8Array>(parts: T[], Type: { new (n: number): T }): T {
  const out = new Type(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

class Judge {
  readonly reasons: Reason[] = [];
  constructor(private readonly gates: Gates) {}

  add(reason: Omit<Reason, "blocking">, inconclusive = this.gates.inconclusive): void {
    const blocking =
      reason.status === "fail" || (reason.status === "inconclusive" && inconclusive === "no-ship");
    this.reasons.push({ ...reason, blocking });
  }
}

function qualityGates(
  judge: Judge,
  gates: Gates,
  variant: VariantFacts,
  baseline: VariantFacts,
): void {
  for (const [suite, metrics] of baseline.quality) {
    for (const [metric, baseItems] of metrics) {
      const rule = gates.metrics.find(
        (m) => m.metric === metric && (m.suite === undefined || m.suite === suite),
      );
      if (rule?.ignore) continue;
      const minRatio = rule?.minRatio ?? gates.quality.minRatio;
      const { first: b, second: v } = pairValues(
        baseItems,
        variant.quality.get(suite)?.get(metric),
      );
      if (b.length === 0) {
        judge.add({
          gate: "quality",
          suite,
          metric,
          status: "fail",
          value: null,
          threshold: minRatio,
          n: 0,
          message: `${metric} on ${suite}: no item scored by both variant and baseline`,
        });
        continue;
      }
      const cmp = pairedBootstrap(b, v, {
        confidence: gates.confidence,
        resamples: gates.resamples,
        seed: gates.seed,
      });
      const what = `${metric} on ${suite}`;
      const ratio = cmp.ratio;
      if (!ratio) {
        // A ratio to 0 cannot show a loss: whatever the variant scores, this suite is no evidence.
        judge.add(
          {
            gate: "quality",
            suite,
            metric,
            status: "inconclusive",
            value: null,
            threshold: minRatio,
            n: cmp.n,
            message:
              cmp.variantMean === 0
                ? `${what}: the baseline scores 0 on all ${cmp.n} items, and so does the variant — no evidence either way: inconclusive`
                : `${what}: the baseline scores 0 on all ${cmp.n} items (variant ${num(cmp.variantMean, 3)}) — a ratio to 0 cannot show a loss, so no evidence: inconclusive`,
          },
          rule?.inconclusive,
        );
        continue;
      }
      const binary = BINARY_METRICS.has(metric);
      const mcnemar = binary ? mcnemarExact(b, v) : undefined;
      const flips = binary ? countFlips(b, v, gates.confidence) : undefined;
      const extra = mcnemar
        ? `; McNemar p=${mcnemar.pValue.toPrecision(3)} (${mcnemar.baselineOnly} only baseline right, ${mcnemar.variantOnly} only variant right); flips ${pct(flips?.rate ?? 0)}`
        : "";
      const point = `${pct(ratio.estimate)} of baseline (${num(cmp.variantMean, 3)} vs ${num(cmp.baselineMean, 3)}`;
      judge.add(
        judgeInterval(
          {
            gate: "quality",
            suite,
            metric,
            value: ratio.estimate,
            threshold: minRatio,
            interval: [ratio.low, ratio.high],
            n: cmp.n,
          },
          judgeAtLeast(ratio.low, ratio.high, minRatio),
          {
            judged: (status) =>
              `${what}: ${point}; ${level(gates)} ${pct(ratio.low)}–${pct(ratio.high)}, n=${cmp.n}) vs ≥ ${pct(minRatio)}: ${status}${extra}`,
            tooFew: `${what}: ${point}; n=${cmp.n})`,
          },
        ),
        rule?.inconclusive,
      );
      if (flips && gates.flips)
        judge.add(flipsFinding(gates, { suite, metric, flips }), rule?.inconclusive);
    }
  }
}

function perplexityGates(
  judge: Judge,
  gates: Gates,
  variant: VariantFacts,
  baseline: VariantFacts,
): void {
  const z = normalQuantile(0.5 + gates.confidence / 2);
  for (const [suite, baseFacts] of baseline.perplexity) {
    const facts = variant.perplexity.get(suite);
    if (!facts) continue;
    const paired = concatPaired(facts, baseFacts);
    const v = flat(paired.v, Float32Array);
    if (v.length < 2) continue;
    const cmp = comparePerplexity(v, flat(paired.b, Float32Array));
    const low = Math.exp(cmp.lnRatio - z * cmp.lnRatioError);
    const high = Math.exp(cmp.lnRatio + z * cmp.lnRatioError);
    const max = gates.perplexity.maxRatio;
    const point = `perplexity on ${suite}: ${num(cmp.ppl)} vs baseline ${num(cmp.baselinePpl)}, ratio ${num(cmp.ratio)}`;
    judge.add(
      judgeInterval(
        {
          gate: "perplexity",
          suite,
          metric: "ppl_ratio",
          value: cmp.ratio,
          threshold: max,
          interval: [low, high],
          n: v.length,
        },
        judgeAtMost(low, high, max),
        {
          judged: (status) =>
            `${point} (CI ${num(low)}–${num(high)}, ${v.length} tokens) vs ≤ ${max}: ${status}`,
          tooFew: `${point} (${v.length} tokens)`,
        },
        "tokens",
      ),
    );
    if (paired.kld.length === 0) continue;
    const kld = summarizeKld(flat(paired.kld, Float32Array), flat(paired.same, Uint8Array));
    const kLow = kld.meanKld - z * kld.meanKldError;
    const kHigh = kld.meanKld + z * kld.meanKldError;
    const tail = `p99 ${num(kld.p99Kld, 5)}, same top token ${kld.sameTopPct.toFixed(2)} %, ${kld.n} tokens`;
    judge.add(
      asBound(
        facts.kldBound,
        judgeInterval(
          {
            gate: "kld",
            suite,
            metric: "mean_kld",
            value: kld.meanKld,
            threshold: gates.kld.maxMean,
            interval: [kLow, kHigh],
            n: kld.n,
          },
          judgeAtMost(kLow, kHigh, gates.kld.maxMean),
          {
            judged: (status) =>
              `KLD on ${suite}: mean ${num(kld.meanKld, 6)} (CI ${num(kLow, 6)}–${num(kHigh, 6)}, ${tail}) vs ≤ ${gates.kld.maxMean}: ${status}`,
            tooFew: `KLD on ${suite}: mean ${num(kld.meanKld, 6)} (${tail})`,
          },
          "tokens",
        ),
      ),
    );
    if (gates.kld.maxP99 !== undefined) {
      const pStatus = kld.p99Kld <= gates.kld.maxP99 ? "pass" : "fail";
      judge.add(
        asBound(facts.kldBound, {
          gate: "kld",
          suite,
          metric: "p99_kld",
          status: pStatus,
          value: kld.p99Kld,
          threshold: gates.kld.maxP99,
          n: kld.n,
          message: `KLD p99 on ${suite}: ${num(kld.p99Kld, 5)} vs ≤ ${gates.kld.maxP99}: ${pStatus}`,
        }),
      );
    }
  }
}

function lengthGate(
  judge: Judge,
  gates: Gates,
  variant: VariantFacts,
  baseline: VariantFacts,
): void {
  if (gates.length === false) return;
  const b: number[] = [];
  const v: number[] = [];
  for (const [suite, items] of baseline.completionTokens) {
    const paired = pairValues(items, variant.completionTokens.get(suite));
    for (let i = 0; i < paired.first.length; i++) {
      b.push(paired.first[i] as number);
      v.push(paired.second[i] as number);
    }
  }
  const cmp =
    b.length > 0
      ? pairedBootstrap(b, v, {
          confidence: gates.confidence,
          resamples: gates.resamples,
          seed: gates.seed,
        })
      : undefined;
  if (!cmp?.ratio) return;
  const { ratio } = cmp;
  const tol = gates.length.tolerance;
  const inside = ratio.low >= 1 - tol && ratio.high <= 1 + tol;
  const outside = ratio.high < 1 - tol || ratio.low > 1 + tol;
  const point = `mean completion length: ${pct(ratio.estimate)} of baseline (${num(cmp.variantMean, 1)} vs ${num(cmp.baselineMean, 1)} tokens`;
  judge.add(
    judgeInterval(
      {
        gate: "length",
        metric: "completion_tokens",
        value: ratio.estimate,
        threshold: tol,
        interval: [ratio.low, ratio.high],
        n: cmp.n,
      },
      inside ? "pass" : outside ? "fail" : "inconclusive",
      {
        judged: (status) =>
          `${point}; CI ${pct(ratio.low)}–${pct(ratio.high)}, n=${cmp.n}) vs within ±${pct(tol)}: ${status}${status === "fail" && ratio.estimate < 1 ? " — it writes less, so its speed is not comparable" : ""}`,
        tooFew: `${point}; n=${cmp.n})`,
      },
    ),
  );
}

function budgetGates(
  judge: Judge,
  gates: Gates,
  variant: VariantFacts,
  baseline: VariantFacts | undefined,
): void {
  const budgets = gates.budgets;
  const ttftP90 = quantile(variant.ttftMs, 0.9);
  const tps = quantile(variant.decodeTps, 0.5);
  const check = (
    metric: string,
    value: number | null,
    limit: number | undefined,
    atMost: boolean,
    label: string,
  ) => {
    if (limit === undefined) return;
    if (value === null || !Number.isFinite(value)) {
      judge.add({
        gate: "budget",
        metric,
        status: "inconclusive",
        value: null,
        threshold: limit,
        message: `${label}: not measured, budget ${limit}`,
      });
      return;
    }
    const ok = atMost ? value <= limit : value >= limit;
    judge.add({
      gate: "budget",
      metric,
      status: ok ? "pass" : "fail",
      value,
      threshold: limit,
      message: `${label}: ${num(value, 1)} vs ${atMost ? "≤" : "≥"} ${limit}: ${ok ? "pass" : "fail"}`,
    });
  };
  check("ttft_p90_ms", ttftP90, budgets.ttftP90Ms, true, "TTFT p90 (ms)");
  check("decode_tps_p50", tps, budgets.minDecodeTps, false, "decode TPS p50");
  check("peak_rss_bytes", variant.peakRssBytes, budgets.maxPeakRssBytes, true, "peak RSS (bytes)");
  check("model_bytes", variant.modelBytes, budgets.maxModelBytes, true, "model size (bytes)");
  const { energyJoules, energyTokens } = variant;
  const joulesPerToken = energyJoules != null && energyTokens ? energyJoules / energyTokens : null;
  check("joules_per_token", joulesPerToken, budgets.maxJoulesPerToken, true, "energy (J/token)");
  if (budgets.minConcurrentAtContext !== undefined) {
    // The plan's budget, else the device the variant ran on (what the engine reports).
    const device = budgets.deviceBytes ?? variant.engineDeviceTotalBytes ?? undefined;
    const capacity = device === undefined ? undefined : measuredCapacity(variant, device);
    check(
      "concurrent_at_context",
      capacity?.concurrentAtContext ?? null,
      budgets.minConcurrentAtContext,
      false,
      device === undefined
        ? "sequences at the plan's context (no device memory reported: set budgets.deviceBytes)"
        : `sequences at the plan's context in ${num(device / 1e9, 1)} GB${budgets.deviceBytes === undefined ? " (the device's total)" : ""}`,
    );
  }
  if (!baseline || variant === baseline) return;
  const baseTps = quantile(baseline.decodeTps, 0.5);
  if (Number.isFinite(tps) && Number.isFinite(baseTps) && tps < baseTps * 0.95) {
    const status = budgets.slowerThanBaseline === "fail" ? "fail" : "warn";
    judge.add({
      gate: "speed",
      metric: "decode_tps_p50",
      status,
      value: tps,
      threshold: baseTps,
      message: `decode TPS p50 ${num(tps, 1)} is slower than the baseline's ${num(baseTps, 1)}`,
    });
  }
}

/** SHIP or NO-SHIP per variant, each with the reasons that decided it (reviews: `gates.review`). */
export function decide(
  facts: RunFacts,
  gates: Gates,
  reviews: readonly ReviewFact[] = [],
): Verdict[] {
  const baseline = facts.variants.find((v) => v.isBaseline);
  return facts.variants.map((variant) => {
    const judge = new Judge(gates);
    const unfinished =
      variant.status === "failed"
        ? `the variant failed: ${variant.error ?? "unknown error"}`
        : variant.status !== "complete"
          ? `the variant did not finish (${variant.status}); resume the run`
          : undefined;
    if (unfinished) {
      judge.add({
        gate: "failures",
        metric: "status",
        status: "fail",
        value: null,
        threshold: null,
        message: unfinished,
      });
    }
    if (variant.failedItems > gates.maxFailedItems) {
      judge.add({
        gate: "failures",
        metric: "failed_items",
        status: "fail",
        value: variant.failedItems,
        threshold: gates.maxFailedItems,
        message: `${variant.failedItems} failed items, more than the ${gates.maxFailedItems} allowed`,
      });
    }
    if (baseline && variant !== baseline) {
      if (baseline.status !== "complete") {
        judge.add({
          gate: "failures",
          metric: "baseline",
          status: "fail",
          value: null,
          threshold: null,
          message: `the baseline ${baseline.name} did not complete: nothing to compare with`,
        });
      } else {
        qualityGates(judge, gates, variant, baseline);
        perplexityGates(judge, gates, variant, baseline);
        lengthGate(judge, gates, variant, baseline);
        if (gates.review) {
          for (const r of reviewGates(gates.review, facts, variant, baseline, reviews))
            judge.add(r);
        }
      }
    }
    budgetGates(judge, gates, variant, baseline);
    return {
      variant: variant.name,
      precision: variant.precision,
      baseline: variant.isBaseline,
      verdict: judge.reasons.some((r) => r.blocking) ? "NO-SHIP" : "SHIP",
      reasons: judge.reasons,
    };
  });
}
