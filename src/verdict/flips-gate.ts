import type { Flips } from "./flips.js";
import type { Gates } from "./gates.js";
import { judgeInterval, level } from "./interval.js";
import type { Reason } from "./policy.js";
import { judgeAtMost } from "./stats.js";

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The share of items whose correctness changed, judged on its Wilson interval. */
export function flipsFinding(
  gates: Gates,
  { suite, metric, flips }: { suite: string; metric: string; flips: Flips },
): Omit<Reason, "blocking"> {
  const max = gates.flips?.maxRate ?? 1;
  const what = `flips of ${metric} on ${suite}`;
  const point = `${pct(flips.rate)} (${flips.lost} lost, ${flips.gained} gained of ${flips.n}`;
  return judgeInterval(
    {
      gate: "flips",
      suite,
      metric,
      value: flips.rate,
      threshold: max,
      interval: [flips.low, flips.high],
      n: flips.n,
    },
    judgeAtMost(flips.low, flips.high, max),
    {
      judged: (status) =>
        `${what}: ${point}; ${level(gates)} ${pct(flips.low)}–${pct(flips.high)}) vs ≤ ${pct(max)}: ${status}`,
      tooFew: `${what}: ${point})`,
    },
  );
}
