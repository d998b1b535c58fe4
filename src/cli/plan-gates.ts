import { resolve } from "node:path";
import { checkGateNames } from "../plan/check-gates.js";
import { readPlanGates } from "../plan/read-gates.js";
import type { RunRecord } from "../store/records.js";
import { gatedMetricNames } from "../suites/metric-names.js";
import type { Metric } from "../suites/schema.js";
import type { Gates } from "../verdict/gates.js";

/** A plan's gates for re-deciding a stored run: their names checked against the run's suites. */
export function planGatesFor(run: RunRecord, planFile: string): Gates {
  const { gates, source } = readPlanGates(resolve(planFile));
  const suites = [...run.suites].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const produced = new Map(
    suites.map((s) => [s.id, gatedMetricNames(JSON.parse(s.metrics) as Metric[])]),
  );
  checkGateNames(gates, produced, source.locate);
  return gates;
}
