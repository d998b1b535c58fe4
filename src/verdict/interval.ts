import type { Gates } from "./gates.js";
import type { Reason } from "./policy.js";
import type { Judgement } from "./stats.js";

/**
 * Fewer paired items than this cannot support an interval: a bootstrap over so few pairs
 * resamples the same handful of values, so one pair gives a zero-width interval however the
 * variant behaves. Below it every interval gate is inconclusive, never a pass or a fail.
 */
export const MIN_PAIRED_ITEMS = 5;

/** "95 % CI": the confidence of the gates' intervals, as their messages print it. */
export const level = (gates: Gates) => `${Math.round(gates.confidence * 100)} % CI`;

/**
 * A finding judged on an interval, unless the interval rests on fewer than MIN_PAIRED_ITEMS
 * pairs (or tokens): then it is inconclusive, says why, and keeps no interval that looks certain.
 */
export function judgeInterval(
  reason: Omit<Reason, "blocking" | "status" | "message"> & { n: number },
  status: Judgement,
  message: { judged: (status: Judgement) => string; tooFew: string },
  unit = "paired items",
): Omit<Reason, "blocking"> {
  if (reason.n >= MIN_PAIRED_ITEMS) return { ...reason, status, message: message.judged(status) };
  const { interval: _, ...rest } = reason;
  return {
    ...rest,
    status: "inconclusive",
    message: `${message.tooFew} — too few ${unit} for an interval (at least ${MIN_PAIRED_ITEMS}): inconclusive`,
  };
}
