/**
 * What checking evaluate results at the edge costs (src/runner-client/results.ts): its plain
 * loop over the scored positions vs one zod schema per element, beside the JSON.parse the
 * client pays for the same line anyway. Prints figures, asserts nothing.
 *
 *   node dist/bench/result-validation.js
 */
import { z } from "zod";
import type { EvaluateParams } from "../src/runner-client/protocol.js";
import { checkResult } from "../src/runner-client/results.js";

const PerElement = z.object({
  scored: z.array(
    z.object({
      logprob: z.number(),
      top: z.array(z.tuple([z.number().int().nonnegative(), z.number()])).optional(),
      targets: z.array(z.number().nullable()).optional(),
    }),
  ),
  evalMs: z.number(),
});

/** Mean ms of `f` over `n` runs after three warm-up runs. */
function time(f: () => void, n: number): number {
  for (let i = 0; i < 3; i++) f();
  const started = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - started) / n;
}

const shapes = [
  { name: "perplexity, 512-token chunk, top 1", positions: 256, topK: 1, targets: 0 },
  { name: "baseline KLD pass, top 512", positions: 256, topK: 512, targets: 0 },
  { name: "variant KLD pass, 512 targets, top 1", positions: 256, topK: 1, targets: 512 },
  { name: "perplexity, 4096-token chunk, top 1", positions: 2048, topK: 1, targets: 0 },
];

for (const { name, positions, topK, targets } of shapes) {
  const scored = Array.from({ length: positions }, (_, i) => ({
    logprob: -1 - (i % 7) / 3,
    top: Array.from({ length: topK }, (_, k) => [i + k, -0.01 - k / 10]),
    ...(targets > 0 ? { targets: Array.from({ length: targets }, (_, k) => -k / 10) } : {}),
  }));
  const params: EvaluateParams = {
    tokens: Array.from({ length: positions + 1 }, (_, i) => i),
    scoreFrom: 1,
    topK,
    ...(targets > 0
      ? {
          targets: Array.from({ length: positions }, () =>
            Array.from({ length: targets }, (_, k) => k),
          ),
        }
      : {}),
  };
  const line = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { scored, evalMs: 1 } });
  const result = (JSON.parse(line) as { result: unknown }).result;
  const n = topK > 100 || targets > 100 ? 20 : 200;
  const parse = time(() => JSON.parse(line), n);
  const loop = time(() => {
    if (checkResult("evaluate", params, result)) throw new Error("the loop refused a good result");
  }, n);
  const zod = time(() => {
    if (!PerElement.safeParse(result).success) throw new Error("zod refused a good result");
  }, n);
  console.log(
    `${name}: ${(line.length / 1e6).toFixed(2)} MB; JSON.parse ${parse.toFixed(2)} ms; ` +
      `check ${loop.toFixed(2)} ms; zod per element ${zod.toFixed(2)} ms`,
  );
}
