import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { InputError } from "../errors.js";
import type { RunnerCommand } from "../runner-client/client.js";
import { resolveRunner, resolveVariantBackend } from "../runner-client/registry.js";
import { type LoadedSuite, loadSuite } from "../suites/load.js";
import { gatedMetricNames } from "../suites/metric-names.js";
import { checkGateNames } from "./check-gates.js";
import { applyOverrides, checkOverrides, type PlanOverrides } from "./overrides.js";
import { type Backend, Plan, type QuantizeType, type Variant } from "./schema.js";
import { readPlanSource, zodToInputError } from "./yaml-source.js";

export type { PlanOverrides } from "./overrides.js";

export interface ResolvedVariant extends Variant {
  /** The GGUF to load; for a `quantize:` variant, set once preparePlan has made it. */
  modelPath: string;
  quantizeFrom?: { source: string; type: QuantizeType };
  /** Served over HTTP: `modelPath` is the server's model name, not a file. */
  served?: boolean;
  backend: Backend;
  isBaseline: boolean;
  runnerCommand: RunnerCommand;
  threads: number;
}

export interface ResolvedPlan {
  file: string;
  plan: Plan;
  variants: ResolvedVariant[];
  suites: LoadedSuite[];
  baseline: string;
  /** `cacheDir` resolved against the plan file's folder (not the current one), as written in docs. */
  cacheDir: string;
  /** sha256 over the resolved plan and its suites: a resumed run must match it. */
  hash: string;
}

/** Small models run fastest on one thread: the threads' sync costs more than their work. */
const SMALL_MODEL_BYTES = 64 * 1024 * 1024;

export function autoThreads(modelBytes: number): number {
  return modelBytes < SMALL_MODEL_BYTES ? 1 : availableParallelism();
}

function threadsFor(plan: Plan, modelBytes: number): number {
  return plan.threads === "auto" ? autoThreads(modelBytes) : plan.threads;
}

/** Reads, validates and resolves a plan and its suites. Throws InputError (exit 2) on any defect. */
export function loadPlan(file: string, overrides: PlanOverrides = {}): ResolvedPlan {
  checkOverrides(overrides);
  const yaml = readPlanSource(file);
  const locate = yaml.locate;
  const parsed = Plan.safeParse(applyOverrides(yaml.value, overrides));
  if (!parsed.success) throw zodToInputError(yaml, parsed.error, "BAD_PLAN");
  const plan = parsed.data;
  const dir = dirname(file);
  const baseline =
    plan.baseline ?? plan.variants.find((v) => v.baseline)?.name ?? plan.variants[0]?.name ?? "";
  const source = plan.from === undefined ? undefined : resolve(dir, plan.from);
  if (source !== undefined && !existsSync(source)) {
    throw new InputError("BAD_MODEL", `model file not found: ${source}`, {
      location: locate(["from"]),
    });
  }
  const variants = plan.variants.map((variant, i): ResolvedVariant => {
    const field = variant.backend !== undefined ? "backend" : "runner";
    const backend = at(locate(["variants", i, field]), () =>
      resolveVariantBackend(plan.backend, variant),
    );
    const common = {
      ...variant,
      backend,
      isBaseline: variant.name === baseline,
      runnerCommand: at(locate(["variants", i, "runner"]), () =>
        resolveRunner(backend, variant.runner),
      ),
    };
    if (variant.quantize !== undefined && source !== undefined) {
      // Made (or found in the cache) by preparePlan; threads follow the source's size until then.
      const bytes = statSync(source).size;
      return {
        ...common,
        modelPath: "",
        quantizeFrom: { source, type: variant.quantize },
        threads: threadsFor(plan, bytes),
      };
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
  const suites = plan.suites.map((suite, i) =>
    loadSuite(resolve(dir, suite), locate(["suites", i])),
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
  const produced = new Map(suites.map((s) => [s.id, gatedMetricNames(s.metrics)]));
  checkGateNames(plan.gates, produced, locate);
  const hash = createHash("sha256")
    .update(JSON.stringify({ ...plan, threads: undefined, concurrency: undefined }))
    .update(
      variants
        .map((v) => v.modelPath || `${v.quantizeFrom?.source}:${v.quantizeFrom?.type}`)
        .join("\n"),
    )
    .update(suites.map((s) => s.hash).join("\n"))
    .digest("hex");
  return { file, plan, variants, suites, baseline, cacheDir: resolve(dir, plan.cacheDir), hash };
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
