import type { RunnerClient } from "../runner-client/client.js";
import type { VariantContext } from "./session-context.js";

/**
 * The plan's fixed shapes (prompt N tokens, generate M, at depth D), one warm-up then
 * `perfRepeats` stored repeats each, so figures compare one to one with `llama-bench -p N -n M -d D`.
 */
export async function runPerfShapes(runner: RunnerClient, context: VariantContext): Promise<void> {
  const { plan, store, variantId, progress } = context;
  if (plan.perf.length === 0) return;
  const done = store.finishedPerf(variantId);
  const timeout = plan.timeouts.itemSeconds * 1000;
  for (const shape of plan.perf) {
    const todo = Array.from({ length: plan.perfRepeats }, (_, r) => r).filter(
      (r) => !done.has(`${shape.prompt}/${shape.generate}/${shape.depth}/${r}`),
    );
    if (todo.length === 0) continue;
    const label = `perf p${shape.prompt} n${shape.generate} d${shape.depth}`;
    progress.start(context.variant.name, label, todo.length);
    const params = {
      promptTokens: shape.prompt,
      generateTokens: shape.generate,
      depth: shape.depth,
      seed: plan.seed,
    };
    await runner.request("benchmark", params, timeout);
    for (const repeat of todo) {
      const sentAt = performance.now();
      const out = await runner.request(
        "benchmark",
        { ...params, seed: plan.seed + repeat + 1 },
        timeout,
      );
      store.recordPerf(variantId, {
        promptTokens: shape.prompt,
        generateTokens: shape.generate,
        depth: shape.depth,
        repeat,
        prefillMs: out.prefillMs,
        decodeMs: out.decodeMs,
        generated: out.generatedTokens,
        ipcMs: performance.now() - sentAt,
      });
      progress.tick();
    }
    progress.done();
  }
}
