import { InputError } from "../errors.js";
import { type Backend, Generation, Plan } from "./schema.js";

/** Settings given on the command line; they override the plan file, which overrides defaults. */
export interface PlanOverrides {
  backend?: Backend;
  threads?: number | "auto";
  contextSize?: number;
  seed?: number;
  repeats?: number;
  warmup?: number;
  concurrency?: number;
  maxTokens?: number;
}

/** The flag each override comes from, so its error names the flag, not a line of the plan. */
const FLAG_OF: Record<keyof PlanOverrides, string> = {
  backend: "--backend",
  threads: "--threads",
  contextSize: "--ctx",
  seed: "--seed",
  repeats: "--repeats",
  warmup: "--warmup",
  concurrency: "--concurrency",
  maxTokens: "--max-tokens",
};

const SCHEMA_OF = {
  backend: Plan.shape.backend,
  threads: Plan.shape.threads,
  contextSize: Plan.shape.contextSize,
  seed: Plan.shape.seed,
  repeats: Plan.shape.repeats,
  warmup: Plan.shape.warmup,
  concurrency: Plan.shape.concurrency,
  maxTokens: Generation.shape.maxTokens,
} satisfies Record<keyof PlanOverrides, unknown>;

/** Checks each override against the plan field it replaces; throws BAD_USAGE naming the flag. */
export function checkOverrides(overrides: PlanOverrides): void {
  for (const key of Object.keys(FLAG_OF) as Array<keyof PlanOverrides>) {
    const value = overrides[key];
    if (value === undefined) continue;
    const parsed = SCHEMA_OF[key].safeParse(value);
    if (!parsed.success) {
      const message = Number.isNaN(value)
        ? "expected a number"
        : `${parsed.error.issues[0]?.message ?? "invalid value"}, got ${String(value)}`;
      throw new InputError("BAD_USAGE", `${FLAG_OF[key]}: ${message}`);
    }
  }
}

/** The raw plan with the overrides written over it (still to be validated as a whole). */
export function applyOverrides(raw: unknown, overrides: PlanOverrides): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const plan = { ...(raw as Record<string, unknown>) };
  // The old name of stopAfterFailedItems, before the gate of the same name made it ambiguous.
  if ("maxFailedItems" in plan && !("stopAfterFailedItems" in plan)) {
    plan.stopAfterFailedItems = plan.maxFailedItems;
    delete plan.maxFailedItems;
  }
  const set = (key: string, value: unknown) => {
    if (value !== undefined) plan[key] = value;
  };
  set("backend", overrides.backend);
  set("threads", overrides.threads);
  set("contextSize", overrides.contextSize);
  set("seed", overrides.seed);
  set("repeats", overrides.repeats);
  set("warmup", overrides.warmup);
  set("concurrency", overrides.concurrency);
  if (overrides.maxTokens !== undefined) {
    const generation = (plan.generation ?? {}) as Record<string, unknown>;
    plan.generation = { ...generation, maxTokens: overrides.maxTokens };
  }
  return plan;
}
