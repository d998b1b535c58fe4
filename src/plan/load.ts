import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { InputError } from "../errors.js";
import type { RunnerCommand } from "../runner-client/client.js";
import { resolveRunner, resolveVariantBackend } from "../runner-client/registry.js";
import { type LoadedSuite, loadSuite } from "../suites/load.js";
import { gatedMetricNames } from "../suites/metric-names.js";
import { readPlanSource, type YamlSource, zodToInputError } from "../yaml/source.js";
import { checkGateNames } from "./check-gates.js";
import { applyOverrides, checkOverrides, type PlanOverrides } from "./overrides.js";
import { type Backend, Plan, type QuantizeType, type Variant } from "./schema.js";

export type { PlanOverrides } from "./overrides.js";

interface VariantCommon extends Variant {
  backend: Backend;
  isBaseline: boolean;
  runnerCommand: RunnerCommand;
  threads: number;
  /** The plan says `threads: auto`: `threads` is the size rule's guess, which a run may measure. */
  threadsAuto: boolean;
  /** Where the plan sets `kvCache`, for errors found once the model is read. */
  kvCacheAt?: string;
}

/** A variant as the plan file names it: a GGUF file, a served model, or one to quantize. */
export type LoadedVariant = VariantCommon &
  (
    | {
        /** The GGUF to load; for a served variant (`served`), the server's model name. */
        modelPath: string;
        served?: boolean;
        quantizeFrom?: undefined;
      }
    | {
        modelPath?: undefined;
        served?: undefined;
        /** Made (or found in the cache) by preparePlan. */
        quantizeFrom: { source: string; type: QuantizeType };
      }
  );

/** A variant ready to run: its model file exists (quantized if the plan asked). */
export interface ResolvedVariant extends VariantCommon {
  modelPath: string;
  /** Served over HTTP: `modelPath` is the server's model name, not a file. */
  served?: boolean;
}

export interface LoadedPlan {
  /** The plan file, absolute: every path in it is resolved against its folder. */
  file: string;
  plan: Plan;
  variants: LoadedVariant[];
  suites: LoadedSuite[];
  baseline: string;
  /** `cacheDir` resolved against the plan file's folder (not the current one), as written in docs. */
  cacheDir: string;
  /** sha256 over the resolved plan and its suites: a resumed run must match it. */
  hash: string;
}

export interface ResolvedPlan extends Omit<LoadedPlan, "variants"> {
  variants: ResolvedVariant[];
}

/** Small models run fastest on one thread: the threads' sync costs more than their work. */
const SMALL_MODEL_BYTES = 64 * 1024 * 1024;

export function autoThreads(modelBytes: number): number {
  return modelBytes < SMALL_MODEL_BYTES ? 1 : availableParallelism();
}

export function threadsFor(plan: Plan, modelBytes: number): number {
  return plan.threads === "auto" ? autoThreads(modelBytes) : plan.threads;
}

type Locate = YamlSource["locate"];

/** Reads, validates and resolves a plan and its suites. Throws InputError (exit 2) on any defect. */
export function loadPlan(planFile: string, overrides: PlanOverrides = {}): LoadedPlan {
  checkOverrides(overrides);
  const file = resolve(planFile);
  const yaml = readPlanSource(file);
  const parsed = Plan.safeParse(applyOverrides(yaml.value, overrides));
  if (!parsed.success) throw zodToInputError(yaml, parsed.error, "BAD_PLAN");
  const plan = parsed.data;
  const dir = dirname(file);
  const baseline =
    plan.baseline ?? plan.variants.find((v) => v.baseline)?.name ?? plan.variants[0]?.name ?? "";
  const variants = loadVariants(plan, dir, baseline, yaml.locate);
  const suites = loadSuites(plan, dir, yaml.locate);
  const produced = new Map(suites.map((s) => [s.id, gatedMetricNames(s.metrics)]));
  checkGateNames(plan.gates, produced, yaml.locate);
  const hash = planHash(plan, variants, suites);
  return { file, plan, variants, suites, baseline, cacheDir: resolve(dir, plan.cacheDir), hash };
}

function loadVariants(plan: Plan, dir: string, baseline: string, locate: Locate): LoadedVariant[] {
  const source = plan.from === undefined ? undefined : resolve(dir, plan.from);
  if (source !== undefined && !existsSync(source)) {
    throw new InputError("BAD_MODEL", `model file not found: ${source}`, {
      location: locate(["from"]),
    });
  }
  return plan.variants.map((variant, i): LoadedVariant => {
    const field = variant.backend !== undefined ? "backend" : "runner";
    const backend = at(locate(["variants", i, field]), () =>
      resolveVariantBackend(plan.backend, variant),
    );
    const common = {
      ...variant,
      backend,
      isBaseline: variant.name === baseline,
      threadsAuto: plan.threads === "auto",
      runnerCommand: at(locate(["variants", i, "runner"]), () =>
        resolveRunner(backend, variant.runner),
      ),
      ...(variant.kvCache ? { kvCacheAt: locate(["variants", i, "kvCache"]) } : {}),
    };
    if (variant.quantize !== undefined && source !== undefined) {
      // Threads follow the source's size until preparePlan has made the quantized file.
      const threads = threadsFor(plan, statSync(source).size);
      return { ...common, quantizeFrom: { source, type: variant.quantize }, threads };
    }
    if (variant.runner === "http") {
      // A served model: its name (or URL) goes to the server as it is, no file to check.
      return { ...common, modelPath: variant.model ?? "", served: true, threads: 0 };
    }
    const modelPath = resolve(dir, variant.model ?? "");
    if (!existsSync(modelPath)) {
      throw new InputError("BAD_MODEL", `model file not found: ${modelPath}`, {
        location: locate(["variants", i, "model"]),
      });
    }
    return { ...common, modelPath, threads: threadsFor(plan, statSync(modelPath).size) };
  });
}

function loadSuites(plan: Plan, dir: string, locate: Locate): LoadedSuite[] {
  const suites = plan.suites.map((suite, i) =>
    loadSuite(resolve(dir, suite), locate(["suites", i]), { seed: plan.seed }),
  );
  const suiteIds = new Set<string>();
  suites.forEach((suite, i) => {
    if (suiteIds.has(suite.id)) {
      throw new InputError("BAD_PLAN", `two suites have the id "${suite.id}"`, {
        location: locate(["suites", i]),
      });
    }
    suiteIds.add(suite.id);
    const ctx = suite.perplexityFile?.ctx;
    if (ctx !== undefined && ctx > plan.contextSize) {
      throw new InputError(
        "BAD_SUITE",
        `perplexity ctx ${ctx} exceeds the plan's contextSize ${plan.contextSize}`,
        { location: suite.perplexityFile?.ctxAt ?? suite.file },
      );
    }
  });
  return suites;
}

function planHash(plan: Plan, variants: LoadedVariant[], suites: LoadedSuite[]): string {
  const models = variants.map(
    (v) => v.modelPath || `${v.quantizeFrom?.source}:${v.quantizeFrom?.type}`,
  );
  return createHash("sha256")
    .update(JSON.stringify({ ...plan, threads: undefined, concurrency: undefined }))
    .update(models.join("\n"))
    .update(suites.map((s) => s.hash).join("\n"))
    .digest("hex");
}

/** Runs `check`, placing any InputError it throws at `location`. */
function at<T>(location: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InputError) throw new InputError(error.code, error.message, { location });
    throw error;
  }
}
