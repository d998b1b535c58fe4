import type { RunFacts, VariantFacts } from "./facts.js";
import type { Gates } from "./gates.js";
import type { Reason } from "./policy.js";
import { itemChanges } from "./regressions.js";

/** What the review gate reads of a review: whose output on which item, and the judgement. */
export interface ReviewFact {
  variant: string;
  suite: string;
  item: string;
  verdict: "acceptable" | "not-acceptable" | "unsure";
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * The review gate of one variant: every regression reviewed (else inconclusive), and the share
 * of its reviewed disagreeing outputs that are acceptable against `minAcceptable`, judged like an
 * interval: "unsure" counted as not acceptable gives the low end, as acceptable the high end.
 */
export function reviewGates(
  gate: NonNullable<Gates["review"]>,
  facts: RunFacts,
  variant: VariantFacts,
  baseline: VariantFacts,
  reviews: readonly ReviewFact[],
): Array<Omit<Reason, "blocking">> {
  const changes = itemChanges(facts, variant, baseline);
  const verdictOf = new Map(
    reviews
      .filter((r) => r.variant === variant.name)
      .map((r) => [`${r.suite}\u0000${r.item}`, r.verdict]),
  );
  const reviewed = (c: { suite: string; item: string }) =>
    verdictOf.get(`${c.suite}\u0000${c.item}`);
  const reasons: Array<Omit<Reason, "blocking">> = [];
  if (gate.requireAllRegressions) {
    const regressions = changes.filter((c) => c.change === "worse");
    const open = regressions.filter((c) => reviewed(c) === undefined);
    reasons.push({
      gate: "review",
      metric: "unreviewed_regressions",
      status: open.length === 0 ? "pass" : "inconclusive",
      value: open.length,
      threshold: 0,
      n: regressions.length,
      message:
        regressions.length === 0
          ? "review: no regression to review"
          : open.length === 0
            ? `review: all ${regressions.length} regressions reviewed`
            : `review: ${open.length} of ${regressions.length} regressions not reviewed (first: ${open[0]?.suite}/${open[0]?.item}): inconclusive`,
    });
  }
  if (gate.minAcceptable !== undefined) {
    const min = gate.minAcceptable;
    const verdicts = changes.flatMap((c) => reviewed(c) ?? []);
    const count = (v: ReviewFact["verdict"]) => verdicts.filter((x) => x === v).length;
    const [ok, unsure, bad] = [count("acceptable"), count("unsure"), count("not-acceptable")];
    const n = verdicts.length;
    const tally = `${ok} acceptable, ${bad} not acceptable, ${unsure} unsure of ${n} reviewed (${changes.length} disagree)`;
    if (n === 0) {
      const none = changes.length === 0;
      reasons.push({
        gate: "review",
        metric: "acceptable_share",
        status: none ? "pass" : "inconclusive",
        value: null,
        threshold: min,
        n: 0,
        message: none
          ? "review: no output disagrees with the baseline"
          : `review: none of the ${changes.length} disagreeing outputs reviewed: inconclusive`,
      });
    } else {
      const low = ok / n;
      const high = (ok + unsure) / n;
      const status = low >= min ? "pass" : high < min ? "fail" : "inconclusive";
      reasons.push({
        gate: "review",
        metric: "acceptable_share",
        status,
        value: low,
        threshold: min,
        interval: [low, high],
        n,
        message: `review: ${pct(low)} acceptable${unsure > 0 ? ` (${pct(high)} if the unsure are)` : ""} — ${tally} — vs ≥ ${pct(min)}: ${status}`,
      });
    }
  }
  return reasons;
}
