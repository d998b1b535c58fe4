import { resolve } from "node:path";
import { checkGateNames } from "../plan/check-gates.js";
import { readPlanGates } from "../plan/read-gates.js";
import type { Db } from "../store/database.js";
import { gatedMetricNames } from "../suites/metric-names.js";
import type { Metric } from "../suites/schema.js";
import type { Gates } from "../verdict/gates.js";

/** A plan's gates for re-deciding a stored run: their names checked against the run's suites. */
export function planGatesFor(db: Db, runId: number, planFile: string): Gates {
  const { gates, source } = readPlanGates(resolve(planFile));
  const rows = db
    .prepare("SELECT suite_id, metrics FROM suites WHERE run_id = ? ORDER BY suite_id")
    .all(runId) as Array<{ suite_id: string; metrics: string }>;
  const produced = new Map(
    rows.map((row) => [row.suite_id, gatedMetricNames(JSON.parse(row.metrics) as Metric[])]),
  );
  checkGateNames(gates, produced, source.locate);
  return gates;
}
