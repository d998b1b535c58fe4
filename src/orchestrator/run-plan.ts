import { statSync } from "node:fs";
import { dirname } from "node:path";
import pLimit from "p-limit";
import { InputError, InterruptedError, RunError } from "../errors.js";
import { type CheckedModel, checkModel } from "../plan/check-models.js";
import { autoThreads, loadPlan, type PlanOverrides, type ResolvedPlan } from "../plan/load.js";
import { quantizedModel } from "../plan/quantize-cache.js";
import { inShard, type Shard } from "../plan/shard.js";
import { isDiskFull } from "../store/disk-full.js";
import { Store } from "../store/store.js";
import { checkWritable } from "../store/writable.js";
import { decideRun } from "../verdict/decide-run.js";
import type { Verdict } from "../verdict/policy.js";
import type { Progress } from "./progress.js";
import { collectProvenance } from "./provenance.js";
import { type RunSummary, summarizeRun } from "./summary.js";
import { RunStopped, runVariant } from "./variant-session.js";
import { currentWriter, isWriterAlive } from "./writer.js";

export interface RunOptions {
  planFile: string;
  overrides: PlanOverrides;
  dbPath: string;
  resume: boolean;
  progress: Progress;
  /** Run only this slice of every suite's items (qbench merge joins the shards). */
  shard?: Shard;
  /** Aborted with "SIGINT" or "SIGTERM": runners stop, the run is stored as interrupted. */
  signal?: AbortSignal;
  /** What finishes an interrupted run, as the user would type it. */
  resumeCommand?: string;
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
  checkWritable(options.dbPath);
  const { resolved, models } = await preparePlan(options.planFile, options.overrides, (line) =>
    options.progress.log(line),
  );
  const { plan } = resolved;
  const shard = options.shard ?? { index: 0, count: 1 };
  const store = Store.open(options.dbPath);
  const writer = currentWriter();
  let runId: number | undefined;
  let storedBefore = 0;
  try {
    // A signal while the plan was prepared (models hashed, quantized): nothing is stored.
    if (options.signal?.aborted) throw new RunStopped("stopped before the run started");
    const previous = options.resume ? store.latestRun(resolved.hash, shard) : undefined;
    if (options.resume && !previous) {
      options.progress.log(
        `nothing to resume for this plan in ${options.dbPath}: starting a new run`,
      );
    }
    if (previous) {
      runId = previous.id;
      const holder = store.claimRun(runId, writer, isWriterAlive);
      if (holder) {
        throw new InputError(
          "BAD_INPUT",
          `run ${runId} of this plan is still being written by process ${holder}: wait for it, or stop it and resume`,
          { location: options.dbPath },
        );
      }
      storedBefore = store.countResults(runId);
      options.progress.log(`resuming run ${runId} (${previous.status})`);
    } else {
      runId = store.createRun({
        shard,
        planName: plan.name,
        planFile: resolved.file,
        planHash: resolved.hash,
        planJson: JSON.stringify(plan),
        provenance: collectProvenance(dirname(resolved.file)),
        writer,
      });
    }
    const id = runId;
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
      const row = store.upsertVariant(id, {
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
    // A signal, or one variant's error (a full disk), stops every variant before the store closes.
    const stop = new AbortController();
    const onSignal = () => stop.abort(options.signal?.reason);
    if (options.signal?.aborted) onSignal();
    options.signal?.addEventListener("abort", onSignal, { once: true });
    const runSession = async ({ variant, row }: (typeof sessions)[number]) => {
      if (row.status === "complete") return "complete" as const;
      return runVariant({
        store,
        runId: id,
        resolved,
        variant,
        variantId: row.id,
        progress: options.progress,
        shard,
        signal: stop.signal,
      }).catch((error: unknown) => {
        if (!stop.signal.aborted) stop.abort(error);
        throw error;
      });
    };
    // The baseline runs first: the others are compared with its stored top-K as they go.
    const baseline = sessions.find((s) => s.variant.isBaseline);
    const baselineStatus = baseline ? await runSession(baseline) : undefined;
    const limit = pLimit(plan.concurrency);
    const settled = await Promise.allSettled(
      sessions.map((session) =>
        session === baseline ? baselineStatus : limit(() => runSession(session)),
      ),
    );
    options.signal?.removeEventListener("abort", onSignal);
    if (stop.signal.aborted) throw stop.signal.reason;
    const statuses = settled.map((s) => (s.status === "fulfilled" ? s.value : "failed"));
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
      summary: summarizeRun(store.read.aggregate(runId)),
      verdicts: decideRun(store.read.facts(runId), plan.gates),
    };
  } catch (error) {
    throw stopRun(store, runId, storedBefore, error, options);
  } finally {
    store.close();
  }
}

/** What a run stopped part-way throws: interrupted by a signal, or by a full disk (exit 3). */
function stopRun(
  store: Store,
  runId: number | undefined,
  storedBefore: number,
  error: unknown,
  options: RunOptions,
): unknown {
  const signal = options.signal?.aborted ? (options.signal.reason as string) : undefined;
  const full = isDiskFull(error);
  if (!signal && !full && !(error instanceof RunStopped)) return error;
  options.progress.done();
  let stored = 0;
  try {
    if (runId !== undefined) {
      stored = store.countResults(runId) - storedBefore;
      store.interruptRun(runId);
    }
  } catch {
    // A full disk may not take even this: --resume finishes a `running` run all the same.
  }
  const resume = options.resumeCommand ?? `qbench run ${options.planFile} --resume`;
  if (full) {
    return new RunError(
      `the disk is full (${(error as Error).message}); ${runId === undefined ? "no run was stored" : `run ${runId} stopped after ${stored} items`}. Free space, then \`${resume}\` finishes it`,
      { location: options.dbPath, cause: error },
    );
  }
  return new InterruptedError(
    signal === "SIGTERM" ? "SIGTERM" : "SIGINT",
    runId === undefined
      ? "interrupted before the run started: no run was stored"
      : `interrupted after ${stored} items; \`${resume}\` finishes it`,
  );
}
