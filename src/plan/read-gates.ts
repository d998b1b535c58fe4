import { Gates } from "../verdict/gates.js";
import { readPlanSource, type YamlSource, zodToInputError } from "../yaml/source.js";

/**
 * Reads and validates only a plan's `gates:` section: re-deciding a stored run needs no
 * model, suite or other part of the plan to exist on this machine.
 */
export function readPlanGates(file: string): { gates: Gates; source: YamlSource } {
  const source = readPlanSource(file);
  const raw = (source.value as Record<string, unknown>).gates;
  const parsed = Gates.safeParse(raw === undefined ? {} : raw);
  if (!parsed.success) throw zodToInputError(source, parsed.error, "BAD_PLAN", ["gates"]);
  return { gates: parsed.data, source };
}
