import type { RunnerSpec } from "../orchestrator/runner-session.js";
import { autoThreads } from "../plan/load.js";
import type { Backend } from "../plan/schema.js";
import { resolveRunner } from "../runner-client/registry.js";

/**
 * How the one-model commands (ppl, sensitivity, mix) start a runner on a model file: the
 * backend's runner, a context of `ctx`, seed 0, `threads` or the file size's automatic count.
 */
export function runnerSpecFor(options: {
  backend: Backend;
  ctx: number;
  threads: number | undefined;
}): (model: string, bytes: number) => RunnerSpec {
  return (model, bytes) => ({
    command: resolveRunner(options.backend, undefined),
    load: {
      model,
      backend: options.backend,
      contextSize: options.ctx,
      seed: 0,
      threads: options.threads ?? autoThreads(bytes),
    },
    loadTimeoutMs: 600_000,
  });
}
