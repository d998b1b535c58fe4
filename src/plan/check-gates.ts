import { InputError } from "../errors.js";
import type { Gates } from "../verdict/gates.js";

/**
 * Refuses a `gates.metrics` rule that names a suite, or a metric, that no suite produces:
 * a typo there would otherwise leave the gate it meant to tune silently as it was.
 * `produced` maps each suite id to the gated metric names it scores.
 */
export function checkGateNames(
  gates: Gates,
  produced: ReadonlyMap<string, readonly string[]>,
  locate: (path: ReadonlyArray<PropertyKey>) => string,
): void {
  gates.metrics.forEach((rule, i) => {
    const at = ["gates", "metrics", i];
    if (rule.suite !== undefined && !produced.has(rule.suite)) {
      throw new InputError(
        "BAD_PLAN",
        `gates.metrics[${i}].suite: no suite has the id "${rule.suite}" (suites: ${list([...produced.keys()])})`,
        { location: locate([...at, "suite"]) },
      );
    }
    const names =
      rule.suite === undefined
        ? [...new Set([...produced.values()].flat())]
        : (produced.get(rule.suite) ?? []);
    if (!names.includes(rule.metric)) {
      const what =
        rule.suite === undefined
          ? `no suite of the plan produces "${rule.metric}"`
          : `suite "${rule.suite}" does not produce "${rule.metric}"`;
      throw new InputError(
        "BAD_PLAN",
        `gates.metrics[${i}].metric: ${what} (gated metrics: ${list(names)})`,
        { location: locate([...at, "metric"]) },
      );
    }
  });
}

function list(names: readonly string[]): string {
  return names.length === 0 ? "none" : names.join(", ");
}
