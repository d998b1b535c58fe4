import { messageOf, RunnerFailure } from "../errors.js";
import type { EnergySummary } from "../measure/energy.js";
import type { MemoryFigures } from "../measure/memory-sampler.js";
import { type ManagedServer, startManagedServer } from "../runner-client/managed-server.js";
import type { MemoryResult } from "../runner-client/protocol.js";
import type { StartedRunner } from "../runner-client/start.js";
import { chooseThreads } from "./auto-threads.js";
import { runPerfShapes } from "./perf-session.js";
import { RunnerSession } from "./runner-session.js";
import { runnerSpec } from "./runner-spec.js";
import { checkStopped, type VariantContext } from "./session-context.js";
import { runSuite, type SuitePass, VariantFailed } from "./suite-run.js";

export type VariantStatus = "complete" | "failed";

/**
 * Runs one variant over every suite in its own runner process. A crash or hang costs the item
 * in flight (stored as failed with the runner's stderr) and a runner restart; past the plan's
 * limit the variant is failed and the run goes on with the others.
 */
export async function runVariant(planned: VariantContext): Promise<VariantStatus> {
  checkStopped(planned);
  const finished = planned.store.finishedKeys(planned.variantId);
  const server = await startServer(planned);
  if (server === "failed") return "failed";
  const context = await withThreads(planned);
  const runners = new RunnerSession(runnerSpec(context), {
    sampleMemory: true,
    signal: context.signal,
    onStart: (started) => recordStart(context, started),
  });
  try {
    const first = await runners.runner().catch((error: unknown) => error as Error);
    if (first instanceof Error) {
      checkStopped(context);
      return failVariant(context, `runner did not load the model: ${first.message}`, first);
    }
    return await runSuites(context, runners, finished);
  } finally {
    await runners.close();
    if (server) {
      await server.stop();
      context.store.updateVariant(context.variantId, { serverLog: server.logTail() });
    }
  }
}

async function runSuites(
  context: VariantContext,
  runners: RunnerSession,
  finished: ReadonlySet<string>,
): Promise<VariantStatus> {
  try {
    await warmUp(context, runners);
    const pass: SuitePass = { context, runners, finished, failures: { count: 0 } };
    try {
      for (const suite of context.work.suites) await runSuite(pass, suite);
    } finally {
      await pass.kldRunners?.close();
    }
    const { client } = await runners.runner();
    await runPerfShapes(client, context);
    const engine = await client.request("memory", {}, 10_000);
    recordComplete(context, await runners.close(), engine, runners.energy());
    return "complete";
  } catch (error) {
    context.progress.done();
    checkStopped(context);
    if (error instanceof VariantFailed || error instanceof RunnerFailure) {
      return failVariant(context, error.message, error);
    }
    throw error;
  }
}

/** The variant with the thread count it runs at, stored and shown with the reason for it. */
async function withThreads(context: VariantContext): Promise<VariantContext> {
  const { threads, reason } = await chooseThreads(context);
  context.store.updateVariant(context.variantId, { threads, threadsReason: reason });
  context.progress.log(`· ${context.variant.name}: threads ${threads} (${reason})`);
  return { ...context, variant: { ...context.variant, threads } };
}

/**
 * Warm-up generations: they load caches and code paths, and are not stored. A warm-up never
 * costs the variant: if it fails, the items run without it (on a new runner after a crash).
 */
async function warmUp(context: VariantContext, runners: RunnerSession): Promise<void> {
  const params = context.work.warmUp;
  const failure = params && (await warmUpFailure(context, runners, params));
  checkStopped(context);
  if (!failure) return;
  context.progress.log(`· ${context.variant.name}: warm-up skipped, ${failure.message}`);
  runners.failed(failure);
}

async function warmUpFailure(
  { plan }: VariantContext,
  runners: RunnerSession,
  params: NonNullable<VariantContext["work"]["warmUp"]>,
): Promise<RunnerFailure | undefined> {
  const { client } = await runners.runner();
  for (let i = 0; i < plan.warmup; i++) {
    try {
      await client.request("generate", params, plan.timeouts.itemSeconds * 1000);
    } catch (error) {
      if (error instanceof RunnerFailure) return error;
      throw error;
    }
  }
  return undefined;
}

/** The variant's managed server, started and ready; "failed" (and stored so) if it is not. */
async function startServer(context: VariantContext): Promise<ManagedServer | undefined | "failed"> {
  const { server, http } = context.variant;
  if (!server) return undefined;
  const url = server.url ?? String(http?.baseUrl ?? "");
  try {
    return await startManagedServer({ ...server, url });
  } catch (error) {
    checkStopped(context);
    return failVariant(context, `its server did not start: ${messageOf(error)}`, error);
  }
}

function recordStart(context: VariantContext, { loaded, init }: StartedRunner): void {
  context.store.updateVariant(context.variantId, {
    status: "running",
    backend: loaded.backend,
    device: loaded.device,
    runnerVersion: init.version,
    engine: loaded.engineBuild ? `${init.engine}, ${loaded.engineBuild}` : init.engine,
    loadMs: loaded.loadMs,
    engineContextSize: loaded.allocatedContextSize ?? loaded.contextSize,
    kvCacheK: loaded.kvCache?.k ?? null,
    kvCacheV: loaded.kvCache?.v ?? null,
    engineModelBytes: loaded.engineMemory?.modelBufferBytes ?? null,
    engineKvBytes: loaded.engineMemory?.kvBytes ?? null,
    engineComputeBytes: loaded.engineMemory?.computeBytes ?? null,
  });
}

function recordComplete(
  context: VariantContext,
  figures: MemoryFigures,
  engine: MemoryResult,
  energy: EnergySummary | { reason: string },
) {
  const measured = "reason" in energy ? undefined : energy;
  context.store.updateVariant(context.variantId, {
    energyJoules: measured?.joules ?? null,
    energySeconds: measured?.seconds ?? null,
    energyTokens: measured?.tokens ?? null,
    energySource: measured?.source ?? null,
    status: "complete",
    error: null,
    warmupRuns: context.plan.warmup,
    peakRssBytes: figures.peakRssBytes ?? engine.peakRss ?? null,
    engineDeviceBytes: engine.device?.used ?? null,
    engineDeviceTotalBytes: engine.device?.total ?? null,
    devicePeakBytes: figures.devicePeakBytes ?? null,
    deviceIdleBytes: figures.deviceIdleBytes ?? null,
    processDevicePeakBytes: figures.processDevicePeakBytes ?? null,
    memorySamples: figures.samples,
    memoryNotes: JSON.stringify({
      ...figures.notes,
      ...("reason" in energy ? { energy: energy.reason } : {}),
      ...(engine.device
        ? {}
        : { engineDevice: "the engine reports no device memory (CPU backend)" }),
    }),
  });
}

function failVariant(context: VariantContext, message: string, error: unknown): "failed" {
  const stderrTail = stderrTailOf(error);
  context.store.updateVariant(context.variantId, { status: "failed", error: message, stderrTail });
  context.progress.log(`✗ ${context.variant.name} failed: ${message}`);
  return "failed";
}

/** The runner's last stderr lines, from the failure or the failure that caused it. */
function stderrTailOf(error: unknown): string | null {
  const cause = (error as Error | undefined)?.cause;
  if (cause instanceof RunnerFailure) return cause.stderrTail;
  return error instanceof RunnerFailure ? error.stderrTail : null;
}
