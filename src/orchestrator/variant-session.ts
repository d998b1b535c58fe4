import { RunnerFailure } from "../errors.js";
import { combineFigures, type MemoryFigures, MemorySampler } from "../measure/memory-sampler.js";
import type { ResolvedPlan, ResolvedVariant } from "../plan/load.js";
import type { Shard } from "../plan/shard.js";
import type { RunnerClient } from "../runner-client/client.js";
import { type ManagedServer, startManagedServer } from "../runner-client/managed-server.js";
import type { LoadResult } from "../runner-client/protocol.js";
import { startRunner } from "../runner-client/start.js";
import type { Store } from "../store/store.js";
import { resultKey } from "../store/store.js";
import { shardTasks, suiteTasks, warmUp } from "./item-tasks.js";
import { runPerfShapes } from "./perf-session.js";
import type { Progress } from "./progress.js";

export interface SessionOptions {
  store: Store;
  runId: number;
  resolved: ResolvedPlan;
  variant: ResolvedVariant;
  variantId: number;
  progress: Progress;
  shard: Shard;
  /** Aborted: the runner is killed at once and the session throws RunStopped. */
  signal?: AbortSignal;
}

class VariantFailed extends Error {}

/** Failed items named one by one on the console before the rest are only counted. */
const LOGGED_FAILURES = 10;

/** A runner failure outside any one item (e.g. tokenizing a perplexity file) names its suite. */
function inSuite(error: unknown, suiteId: string): unknown {
  if (!(error instanceof RunnerFailure)) return error;
  return new RunnerFailure(error.kind, `suite ${suiteId}: ${error.message}`, {
    ...(error.runnerCode ? { runnerCode: error.runnerCode } : {}),
    stderrTail: error.stderrTail,
    cause: error,
  });
}

/** The session stopped because its signal was aborted; nothing about the item in flight is stored. */
export class RunStopped extends Error {}

/**
 * Runs one variant over every suite in its own runner process. A crash or hang costs the item
 * in flight (stored as failed with the runner's stderr) and a runner restart; past the plan's
 * limit the variant is failed and the run goes on with the others.
 */
export async function runVariant(options: SessionOptions): Promise<"complete" | "failed"> {
  const { store, variant, variantId, resolved, progress, signal } = options;
  const { plan } = resolved;
  const checkStopped = () => {
    if (signal?.aborted) throw new RunStopped(`${variant.name} stopped`);
  };
  checkStopped();
  const finished = store.finishedKeys(variantId);
  let runner: RunnerClient | undefined;
  // The newest runner process, from spawn on (a load can be stopped too).
  let spawned: RunnerClient | undefined;
  const killRunner = () => spawned?.kill();
  signal?.addEventListener("abort", killRunner, { once: true });
  let loadResult: LoadResult | undefined;
  let failures = 0;
  const memory: MemoryFigures[] = [];
  let sampler: MemorySampler | undefined;
  const stopSampler = async () => {
    if (sampler) memory.push(await sampler.stop());
    sampler = undefined;
  };

  const start = async (): Promise<RunnerClient> => {
    const started = await startRunner(
      variant.runnerCommand,
      {
        model: variant.modelPath,
        backend: variant.backend,
        contextSize: plan.contextSize,
        seed: plan.seed,
        threads: variant.threads,
        ...(variant.http ? { options: variant.http } : {}),
      },
      plan.timeouts.loadSeconds * 1000,
      {
        onSpawn: async (client) => {
          spawned = client;
          if (signal?.aborted) client.kill();
          await stopSampler();
          if (client.pid !== undefined) sampler = await MemorySampler.start(client.pid);
        },
      },
    );
    loadResult = started.loaded;
    store.updateVariant(variantId, {
      status: "running",
      backend: started.loaded.backend,
      device: started.loaded.device,
      runnerVersion: started.init.version,
      engine: started.init.engine,
      loadMs: started.loaded.loadMs,
      engineContextSize: started.loaded.allocatedContextSize ?? started.loaded.contextSize,
    });
    return started.client;
  };

  const fail = (message: string, stderrTail: string | null) => {
    store.updateVariant(variantId, { status: "failed", error: message, stderrTail });
    progress.log(`✗ ${variant.name} failed: ${message}`);
  };

  let server: ManagedServer | undefined;
  if (variant.server) {
    const url = variant.server.url ?? String(variant.http?.baseUrl ?? "");
    try {
      server = await startManagedServer({ ...variant.server, url });
    } catch (error) {
      signal?.removeEventListener("abort", killRunner);
      checkStopped();
      fail(
        `its server did not start: ${(error as Error).message}`,
        error instanceof RunnerFailure ? error.stderrTail : null,
      );
      return "failed";
    }
  }
  const first = await start().catch((error: unknown) => error as Error);
  if (first instanceof Error) {
    signal?.removeEventListener("abort", killRunner);
    await stopSampler();
    await server?.stop();
    checkStopped();
    const tail = first instanceof RunnerFailure ? first.stderrTail : null;
    fail(`runner did not load the model: ${first.message}`, tail);
    return "failed";
  }
  runner = first;

  try {
    const warmUpFailure = await warmUp(first, options);
    checkStopped();
    if (warmUpFailure) {
      progress.log(`· ${variant.name}: warm-up skipped, ${warmUpFailure.message}`);
      // A crash or hang leaves no usable runner: the first item starts a new one.
      if (warmUpFailure.kind !== "error") runner = undefined;
    }
    for (const suite of resolved.suites) {
      if (!runner) runner = await start();
      const tasks = shardTasks(
        suite.id,
        await suiteTasks(runner, suite, options, loadResult).catch((error: unknown) => {
          throw inSuite(error, suite.id);
        }),
        options.shard,
      );
      const todo = tasks.filter((t) => !finished.has(resultKey(t.suite.id, t.itemId, t.repeat)));
      if (todo.length === 0) continue;
      progress.start(variant.name, suite.id, todo.length);
      for (const task of todo) {
        checkStopped();
        const key = { suiteId: task.suite.id, itemId: task.itemId, repeat: task.repeat };
        try {
          if (!runner) runner = await start();
          const row = await task.run(runner);
          store.recordResult(variantId, { ...key, ...row });
          progress.tick();
        } catch (error) {
          checkStopped();
          if (!(error instanceof RunnerFailure)) throw error;
          if (error.runnerCode === "UNSUPPORTED") {
            // The engine cannot give this metric (e.g. prompt log-probs over HTTP): not measured, not failed.
            store.addSkip(variantId, suite.id, error.message);
            progress.log(`· ${variant.name} × ${suite.id}: skipped, ${error.message}`);
            break;
          }
          failures++;
          const where = `${task.suite.id} item ${task.itemId}`;
          if (failures <= LOGGED_FAILURES) {
            progress.log(
              `✗ ${variant.name} × ${where}: ${error.runnerCode ?? error.kind}: ${error.message}`,
            );
          } else if (failures === LOGGED_FAILURES + 1) {
            progress.log(`✗ ${variant.name}: more items failed; the report lists each`);
          }
          store.recordResult(variantId, {
            ...key,
            status: "error",
            error: error.message,
            errorKind: error.runnerCode ?? error.kind,
            stderrTail: error.stderrTail,
            metrics: {},
          });
          progress.tick(true);
          if (error.kind !== "error") runner = undefined;
          if (failures > plan.maxFailedItems) {
            throw new VariantFailed(
              `${failures} items failed, over the limit of ${plan.maxFailedItems}; last: ${where}: ${error.message}`,
              { cause: error },
            );
          }
        }
      }
      progress.done();
    }
    if (!runner) runner = await start();
    await runPerfShapes(runner, options);
    const engine = await runner.request("memory", {}, 10_000);
    await stopSampler();
    const figures = combineFigures(memory);
    store.updateVariant(variantId, {
      status: "complete",
      error: null,
      warmupRuns: plan.warmup,
      peakRssBytes: figures.peakRssBytes ?? engine.peakRss ?? null,
      engineDeviceBytes: engine.device?.used ?? null,
      devicePeakBytes: figures.devicePeakBytes ?? null,
      deviceIdleBytes: figures.deviceIdleBytes ?? null,
      processDevicePeakBytes: figures.processDevicePeakBytes ?? null,
      memorySamples: figures.samples,
      memoryNotes: JSON.stringify({
        ...figures.notes,
        ...(engine.device
          ? {}
          : { engineDevice: "the engine reports no device memory (CPU backend)" }),
      }),
    });
    return "complete";
  } catch (error) {
    progress.done();
    checkStopped();
    const failure =
      (error as Error).cause instanceof RunnerFailure
        ? ((error as Error).cause as RunnerFailure)
        : undefined;
    if (error instanceof VariantFailed || error instanceof RunnerFailure) {
      fail(
        (error as Error).message,
        failure?.stderrTail ?? (error instanceof RunnerFailure ? error.stderrTail : null),
      );
      return "failed";
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", killRunner);
    await stopSampler();
    await runner?.stop();
    if (server) {
      await server.stop();
      store.updateVariant(variantId, { serverLog: server.logTail() });
    }
  }
}
