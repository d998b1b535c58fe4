import type { RunFacts } from "./facts.js";
import { Gates } from "./gates.js";
import { decide, type Verdict } from "./policy.js";
import type { ReviewFact } from "./review-gate.js";

/** The gates stored with a run (its plan as it ran). */
export function storedGates(planJson: string): Gates {
  const plan = JSON.parse(planJson) as { gates?: unknown };
  return Gates.parse(plan.gates ?? {});
}

/** Decides a stored run under the given gates, or under those it ran with, with its reviews. */
export function decideRun(
  facts: RunFacts,
  gates?: Gates,
  reviews: readonly ReviewFact[] = [],
): Verdict[] {
  return decide(facts, gates ?? storedGates(facts.planJson), reviews);
}
