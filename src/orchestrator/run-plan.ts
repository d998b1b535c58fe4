import pLimit from "p-limit";
import type { PlanOverrides } from "../plan/load.js";
import { preparePlan } from "../plan/prepare.js";
import type { Shard } from "../plan/shard.js";
import { Store } from "../store/store.js";
import { checkWritable } from "../store/writable.js";
import { decideRun } from "../verdict/decide-run.js";
import type { Verdict } from "../verdict/policy.js";
import { type OpenedRun, openRun, recordSuites, recordVariants } from "./open-run.js";
import type { Progress } from "./progress.js";
import { RunStopped, type VariantContext } from "./session-context.js";
import { stopRun } from "./stop-run.js";
import { type RunSummary, summarizeRun } from "./summary.js";
import { runVariant, type VariantStatus } from "./variant-session.js";
import { planWork } from "./work.js";

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
  /** Where `threads: auto` keeps what it measured (threadsCachePath); none keeps the size rule. */
  threadsCache?: string | undefined;
}

export interface RunOutcome {
  runId: number;
  resumed: boolean;
  summary: RunSummary;
  verdicts: Verdict[];
}

/** Runs (or resumes) a plan: every variant over every suite, each item stored as it finishes. */
export async function runPlan(options: RunOptions): Promise<RunOutcome> {
  checkWritable(options.dbPath);
  const { resolved, models } = await preparePlan(options.planFile, options.overrides, (line) =>
    options.progress.log(line),
  );
  const { plan } = resolved;
  const work = planWork(plan, resolved.suites, options.shard ?? { index: 0, count: 1 });
  const store = Store.open(options.dbPath);
  let run: OpenedRun | undefined;
  try {
    // A signal while the plan was prepared (models hashed, quantized): nothing is stored.
    if (options.signal?.aborted) throw new RunStopped("stopped before the run started");
    run = openRun(store, resolved, work, options);
    const { runId } = run;
    recordSuites(store, runId, work);
    const baselineModel = resolved.variants.find((v) => v.isBaseline)?.modelPath;
    const context = {
      ...{ store, runId, plan, work, progress: options.progress, baselineModel },
      threadsCache: options.threadsCache,
    };
    const contexts = recordVariants(store, runId, resolved, models).map(({ variant, row }) => ({
      ...context,
      variant,
      variantId: row.id,
      status: row.status,
    }));
    const statuses = await runVariants(contexts, plan.concurrency, options.signal);
    const failed = statuses.filter((s) => s === "failed").length;
    store.finishRun(runId, failed === statuses.length ? "failed" : "complete");
    return {
      runId,
      resumed: run.resumed,
      summary: summarizeRun(store.read.aggregate(runId)),
      verdicts: decideRun(store.read.facts(runId), plan.gates, store.read.reviews(runId)),
    };
  } catch (error) {
    throw stopRun(store, run, error, options);
  } finally {
    store.close();
  }
}

/**
 * The baseline first (the others are compared with its stored top-K as they go), then the
 * others, `concurrency` at a time. A signal, or one variant's error (a full disk), stops them all.
 */
async function runVariants(
  contexts: ReadonlyArray<VariantContext & { status: string }>,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<VariantStatus[]> {
  const stop = new AbortController();
  const onSignal = () => stop.abort(signal?.reason);
  if (signal?.aborted) onSignal();
  signal?.addEventListener("abort", onSignal, { once: true });
  const run = async (context: (typeof contexts)[number]): Promise<VariantStatus> => {
    if (context.status === "complete") return "complete";
    return runVariant({ ...context, signal: stop.signal }).catch((error: unknown) => {
      if (!stop.signal.aborted) stop.abort(error);
      throw error;
    });
  };
  const baseline = contexts.find((c) => c.variant.isBaseline);
  const baselineStatus = baseline ? await run(baseline) : undefined;
  const limit = pLimit(concurrency);
  const settled = await Promise.allSettled(
    contexts.map((c) => (c === baseline ? baselineStatus : limit(() => run(c)))),
  );
  signal?.removeEventListener("abort", onSignal);
  if (stop.signal.aborted) throw stop.signal.reason;
  return settled.map((s) => (s.status === "fulfilled" && s.value ? s.value : "failed"));
}
