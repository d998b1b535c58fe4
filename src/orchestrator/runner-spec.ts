import type { RunnerSpec } from "./runner-session.js";
import type { VariantContext } from "./session-context.js";

/** How to start the variant's runner: its command and what its `load` asks for. */
export function runnerSpec({ variant, plan }: VariantContext): RunnerSpec {
  return {
    command: variant.runnerCommand,
    load: {
      model: variant.modelPath,
      backend: variant.backend,
      contextSize: plan.contextSize,
      seed: plan.seed,
      threads: variant.threads,
      ...(variant.http ? { options: variant.http } : {}),
      ...(variant.kvCache ? { kvCache: variant.kvCache } : {}),
    },
    loadTimeoutMs: plan.timeouts.loadSeconds * 1000,
  };
}
