import type { RunFacts } from "./facts.js";
import { Gates } from "./gates.js";
import { decide, type Verdict } from "./policy.js";

/** The gates stored with a run (its plan as it ran). */
export function storedGates(planJson: string): Gates {
  const plan = JSON.parse(planJson) as { gates?: unknown };
  return Gates.parse(plan.gates ?? {});
}

/** Decides a stored run under the given gates, or under those it ran with. */
export function decideRun(facts: RunFacts, gates?: Gates): Verdict[] {
  return decide(facts, gates ?? storedGates(facts.planJson));
}
