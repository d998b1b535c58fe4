import { statSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { messageOf } from "../errors.js";
import type { RunnerClient } from "../runner-client/client.js";
import { type StartedRunner, startRunner } from "../runner-client/start.js";
import { runnerSpec } from "./runner-spec.js";
import { checkStopped, type VariantContext } from "./session-context.js";
import {
  readThreadsCache,
  sizeClass,
  type ThreadsKey,
  writeThreadsCache,
} from "./threads-cache.js";
import {
  fastestThreads,
  measuredReason,
  type ThreadsFigure,
  threadCandidates,
} from "./threads-choice.js";

export interface ThreadsChoice {
  threads: number;
  /** Why, as the progress output and the store show it. */
  reason: string;
}

/** A short llama-bench-like decode: a few greedy steps after a short prompt, best of the repeats. */
const PROBE = { promptTokens: 8, generateTokens: 16, repeats: 3 };

/**
 * The thread count a variant runs with. `threads: auto` on the llama-cpp runner's CPU backend is
 * measured (once per CPU, engine build and model size class, then read from the cache); other
 * runners and GPU backends keep the size rule, as does a run given no cache file.
 */
export async function chooseThreads(context: VariantContext): Promise<ThreadsChoice> {
  const { variant, threadsCache } = context;
  if (!variant.threadsAuto)
    return { threads: variant.threads, reason: `plan sets ${variant.threads}` };
  if (variant.served)
    return { threads: variant.threads, reason: "served: the server sets its own" };
  const rule = "auto by model size (1 thread under 64 MiB, else all cores)";
  const measurable =
    variant.runnerCommand.name === "llama-cpp" &&
    (variant.backend === "cpu" || variant.backend === "auto");
  if (!measurable || threadsCache === undefined) {
    const why = measurable
      ? "no threads cache"
      : `runner ${variant.runnerCommand.name}, backend ${variant.backend}`;
    return { threads: variant.threads, reason: `${rule}; ${why}: not measured` };
  }
  try {
    return await measureThreads(context, threadsCache, rule);
  } catch (error) {
    checkStopped(context);
    return { threads: variant.threads, reason: `${rule}; measuring failed: ${messageOf(error)}` };
  }
}

async function measureThreads(
  context: VariantContext,
  file: string,
  rule: string,
): Promise<ThreadsChoice> {
  const { variant, progress } = context;
  const candidates = threadCandidates(availableParallelism());
  const figures: ThreadsFigure[] = [];
  let key: ThreadsKey | undefined;
  for (const threads of candidates) {
    checkStopped(context);
    const started = await probe(context, threads);
    const kill = () => started.client.kill();
    context.signal?.addEventListener("abort", kill, { once: true });
    try {
      if (started.loaded.backend !== "cpu") {
        return {
          threads: variant.threads,
          reason: `${rule}; backend ${started.loaded.backend}: not measured`,
        };
      }
      key ??= keyFor(context, started);
      const cached = readThreadsCache(file, key);
      if (cached)
        return {
          threads: cached.threads,
          reason: measuredReason(cached.figures, cached.threads, cached.at),
        };
      if (figures.length === 0)
        progress.log(`· ${variant.name}: measuring threads ${candidates.join(", ")}`);
      figures.push({ threads, tokensPerSecond: await decodeSpeed(started.client, context) });
    } finally {
      context.signal?.removeEventListener("abort", kill);
      await started.client.stop();
    }
  }
  const threads = fastestThreads(figures);
  const at = new Date().toISOString();
  if (key) writeThreadsCache(file, key, { threads, figures, at });
  return { threads, reason: measuredReason(figures, threads, at) };
}

/** Starts a runner of the variant's model at this thread count; killed if the run is stopped. */
async function probe(context: VariantContext, threads: number): Promise<StartedRunner> {
  const spec = runnerSpec(context);
  const started = await startRunner(spec.command, { ...spec.load, threads }, spec.loadTimeoutMs);
  if (context.signal?.aborted) {
    started.client.kill();
    checkStopped(context);
  }
  return started;
}

async function decodeSpeed(client: RunnerClient, { plan }: VariantContext): Promise<number> {
  const timeout = plan.timeouts.itemSeconds * 1000;
  const params = {
    promptTokens: PROBE.promptTokens,
    generateTokens: PROBE.generateTokens,
    depth: 0,
  };
  await client.request("benchmark", { ...params, seed: plan.seed }, timeout);
  let best = 0;
  for (let r = 1; r <= PROBE.repeats; r++) {
    const out = await client.request("benchmark", { ...params, seed: plan.seed + r }, timeout);
    if (out.decodeMs > 0) best = Math.max(best, (out.generatedTokens * 1000) / out.decodeMs);
  }
  return best;
}

function keyFor({ variant }: VariantContext, { init, loaded }: StartedRunner): ThreadsKey {
  return {
    cpu: `${cpus()[0]?.model ?? "unknown CPU"} × ${availableParallelism()}`,
    engine: loaded.engineBuild ? `${init.engine}, ${loaded.engineBuild}` : init.engine,
    sizeClass: sizeClass(statSync(variant.modelPath).size),
  };
}
