import type { ReviewRecord } from "../store/reviews.js";
import type { RunFacts } from "../verdict/facts.js";
import { itemChanges } from "../verdict/regressions.js";
import type { ReviewSummary } from "./view-model.js";

/** Per variant: how many of its disagreeing outputs people reviewed, and what they said. */
export function summarizeReviews(facts: RunFacts, reviews: readonly ReviewRecord[]): ReviewSummary {
  const baseline = facts.variants.find((v) => v.isBaseline);
  const compared = facts.variants.filter((v) => !v.isBaseline && v.status !== "failed");
  const byKey = new Map(reviews.map((r) => [`${r.variant}\u0000${r.suite}\u0000${r.item}`, r]));
  const counted: ReviewRecord[] = [];
  const rows = baseline
    ? compared.map((v) => {
        const changes = itemChanges(facts, v, baseline);
        const found = changes.map((c) => ({
          change: c.change,
          review: byKey.get(`${v.name}\u0000${c.suite}\u0000${c.item}`),
        }));
        const done = found.flatMap((f) => (f.review ? [f.review] : []));
        counted.push(...done);
        const count = (verdict: ReviewRecord["verdict"]) =>
          done.filter((r) => r.verdict === verdict).length;
        const regressions = found.filter((f) => f.change === "worse");
        return {
          variant: v.name,
          disagreeing: changes.length,
          regressions: regressions.length,
          reviewed: done.length,
          acceptable: count("acceptable"),
          notAcceptable: count("not-acceptable"),
          unsure: count("unsure"),
          unreviewedRegressions: regressions.filter((f) => !f.review).length,
          carried: done.filter((r) => r.carried).length,
        };
      })
    : [];
  const reviewers = [...new Set(counted.map((r) => r.reviewer))].sort();
  return { reviewed: counted.length, reviewers, rows };
}
