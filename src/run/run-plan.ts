import { statSync } from "node:fs";
import { dirname } from "node:path";
import pLimit from "p-limit";
import { type CheckedModel, checkModel } from "../plan/check-models.js";
import { autoThreads, loadPlan, type PlanOverrides, type ResolvedPlan } from "../plan/load.js";
import { quantizedModel } from "../plan/quantize-cache.js";
import { inShard, type Shard } from "../plan/shard.js";
import { openDatabase } from "../store/database.js";
import { Store } from "../store/store.js";
import { decideRun } from "../verdict/decide-run.js";
import type { Verdict } from "../verdict/policy.js";
import type { Progress } from "./progress.js";
import { collectProvenance } from "./provenance.js";
import { type RunSummary, summarizeRun } from "./summary.js";
import { runVariant } from "./variant-session.js";

export interface RunOptions {
  planFile: string;
  overrides: PlanOverrides;
  dbPath: string;
  resume: boolean;
  progress: Progress;
  /** Run only this slice of every suite's items (qbench merge joins the shards). */
  shard?: Shard;
}

export interface RunOutcome {
  runId: number;
  resumed: boolean;
  summary: RunSummary;
  verdicts: Verdict[];
}

/** Loads and checks everything a run needs; throws InputError (exit 2) before anything runs. */
export async function preparePlan(
  planFile: string,
  overrides: PlanOverrides,
  log: (line: string) => void = () => {},
): Promise<{ resolved: ResolvedPlan; models: Map<string, CheckedModel> }> {
  const resolved = loadPlan(planFile, overrides);
  // Named once it is known to be a plan, so a refused one prints only its error.
  log(`plan ${planFile}`);
  // Each file is read and hashed once, though it may be a source and a variant both.
  const models = new Map<string, CheckedModel>();
  const check = async (path: string): Promise<CheckedModel> => {
    const known = models.get(path) ?? (await checkModel(path));
    models.set(path, known);
    return known;
  };
  for (const variant of resolved.variants) {
    if (!variant.quantizeFrom) continue;
    variant.modelPath = await quantizedModel(
      variant.quantizeFrom.source,
      variant.quantizeFrom.type,
      resolved.cacheDir,
      log,
      check,
    );
    if (resolved.plan.threads === "auto")
      variant.threads = autoThreads(statSync(variant.modelPath).size);
  }
  for (const variant of resolved.variants) {
    if (!variant.served) await check(variant.modelPath);
  }
  return { resolved, models };
}

/** Runs (or resumes) a plan: every variant over every suite, each item stored as it finishes. */
export async function runPlan(options: RunOptions): Promise<RunOutcome> {
  const { resolved, models } = await preparePlan(options.planFile, options.overrides, (line) =>
    options.progress.log(line),
  );
  const { plan } = resolved;
  const shard = options.shard ?? { index: 0, count: 1 };
  const store = new Store(openDatabase(options.dbPath));
  try {
    const previous = options.resume ? store.latestRun(resolved.hash, shard) : undefined;
    if (options.resume && !previous) {
      options.progress.log(
        `nothing to resume for this plan in ${options.dbPath}: starting a new run`,
      );
    }
    let runId: number;
    if (previous) {
      runId = previous.id;
      store.markResumed(runId);
      options.progress.log(`resuming run ${runId} (${previous.status})`);
    } else {
      runId = store.createRun({
        shard,
        planName: plan.name,
        planFile: resolved.file,
        planHash: resolved.hash,
        planJson: JSON.stringify(plan),
        provenance: collectProvenance(dirname(resolved.file)),
      });
    }
    for (const suite of resolved.suites) {
      store.addSuite(runId, {
        id: suite.id,
        file: suite.file,
        description: suite.description,
        hash: suite.hash,
        metrics: suite.metrics,
      });
      store.addItems(
        runId,
        suite.id,
        inShard(suite.id, suite.items, (item) => item.id, shard),
      );
    }
    const sessions = resolved.variants.map((variant) => {
      const model = variant.served ? undefined : models.get(variant.modelPath);
      if (!model && !variant.served) throw new Error(`model ${variant.modelPath} was not checked`);
      const row = store.upsertVariant(runId, {
        name: variant.name,
        precision: variant.precision,
        isBaseline: variant.isBaseline,
        modelPath: variant.modelPath,
        modelSha256: model?.sha256 ?? `served:${variant.modelPath}`,
        modelBytes: model?.summary.fileSize ?? 0,
        architecture: model?.summary.architecture ?? null,
        parameterCount: model?.summary.parameterCount ?? null,
        bitsPerWeight: model?.summary.bitsPerWeight ?? null,
        tensorTypes: model?.summary.tensorTypes ?? {},
        backendRequested: variant.backend,
        runner: variant.runnerCommand.name,
        threads: variant.threads,
        contextSize: plan.contextSize,
      });
      return { variant, row };
    });
    const runSession = async ({ variant, row }: (typeof sessions)[number]) => {
      if (row.status === "complete") return "complete" as const;
      return runVariant({
        store,
        runId,
        resolved,
        variant,
        variantId: row.id,
        progress: options.progress,
        shard,
      });
    };
    // The baseline runs first: the others are compared with its stored top-K as they go.
    const baseline = sessions.find((s) => s.variant.isBaseline);
    const baselineStatus = baseline ? await runSession(baseline) : undefined;
    const limit = pLimit(plan.concurrency);
    const statuses = await Promise.all(
      sessions.map((session) =>
        session === baseline ? baselineStatus : limit(() => runSession(session)),
      ),
    );
    const failedVariants = resolved.variants
      .filter((_, i) => statuses[i] === "failed")
      .map((v) => v.name);
    store.finishRun(
      runId,
      failedVariants.length === resolved.variants.length ? "failed" : "complete",
    );
    return {
      runId,
      resumed: previous !== undefined,
      summary: summarizeRun(store.db, runId),
      verdicts: decideRun(store.db, runId, plan.gates),
    };
  } finally {
    store.db.close();
  }
}
