import { TIGHT_COVERAGE } from "../scoring/kld.js";
import type { Reason } from "./policy.js";

/**
 * A KLD against the baseline's top-K is a lower bound. Where its entries cover less than
 * TIGHT_COVERAGE of the baseline's mass, a pass on it proves nothing (inconclusive); a fail stands,
 * since the true KLD is higher still. Either way the reason says it is a bound.
 */
export function asBound(
  bound: { tokens: number; coveredMass: number } | undefined,
  reason: Omit<Reason, "blocking">,
): Omit<Reason, "blocking"> {
  if (!bound || bound.tokens === 0) return reason;
  const covered = bound.coveredMass / bound.tokens;
  const note = `a lower bound: the baseline's top-K covers ${(100 * covered).toFixed(2)} % of its mass`;
  if (covered >= TIGHT_COVERAGE) return { ...reason, message: `${reason.message} (${note})` };
  if (reason.status !== "pass") {
    return { ...reason, message: `${reason.message} (${note}; the exact KLD is higher still)` };
  }
  return {
    ...reason,
    status: "inconclusive",
    message: `${reason.message.replace(/: pass$/, "")} — ${note}, too little to pass on: inconclusive (qbench ppl --kld exact gives the exact figure)`,
  };
}
