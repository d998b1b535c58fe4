import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { RunnerClient } from "../../../src/runner-client/client.js";
import type { LoadParams } from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { startRunner } from "../../../src/runner-client/start.js";
import { klDivergence, summarizeKld } from "../../../src/scoring/kld.js";
import {
  combinePerplexity,
  nllSums,
  perplexityChunks,
  perplexityText,
} from "../../../src/scoring/perplexity.js";
import { model, ROOT } from "../../support/paths.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const CTX = 128;
const VOCAB = 512;
const FIXTURES = join(ROOT, "test/fixtures/ppl");
const REFERENCE = JSON.parse(readFileSync(join(FIXTURES, "reference.json"), "utf8")) as {
  results: Array<{ model: string; ctx: number; mean_nll: number }>;
};
/** Story openings the kernels were never tuned on. */
const PROMPTS = [
  "Once upon a time",
  "The little dog",
  "Tom and Sue went to the",
  "One day, a big bird",
  "Mom said",
  "The sun was hot and",
  "There was a girl who loved",
  "In the park, the boys",
  "Ben had a red ball.",
  "The cat was sad because",
  "Lucy wanted to bake a cake",
  "A tiny frog lived",
  "The old man smiled and",
  "It was a rainy day, so",
  "Max found a shiny key",
  "The teacher asked the class",
];

/**
 * Bounds per file. Q8_0/Q4_0's same-top bound is llama.cpp's own: with flash attention on vs
 * off, llama.cpp CPU agrees with itself on 98.6 % (Q8_0) and 98.5 % (Q4_0) of these positions,
 * because its Q8_0 activation requantization magnifies any rounding difference (docs/webgpu.md).
 */
const BOUNDS: Record<string, { sameTopPct: number; greedy: number }> = {
  f32: { sameTopPct: 99.5, greedy: 14 },
  f16: { sameTopPct: 99.5, greedy: 14 },
  q8_0: { sameTopPct: 98, greedy: 9 },
  q4_0: { sameTopPct: 98, greedy: 9 },
};

async function scoreAll(runner: RunnerClient, tokens: number[], bos: number | null) {
  const logprobs: number[] = [];
  const dists: Map<number, number>[] = [];
  for (const chunk of perplexityChunks(tokens, CTX, bos)) {
    const out = await runner.request("evaluate", { ...chunk, topK: VOCAB }, 120_000);
    // llama-perplexity scores the second half of each chunk: positions ≥ ctx/2.
    for (const s of out.scored.slice(CTX / 2 - chunk.scoreFrom + 1)) {
      logprobs.push(s.logprob);
      dists.push(new Map(s.top ?? []));
    }
  }
  return { logprobs, dists };
}

describe("WebGPU vs llama.cpp CPU on stories260K (the perplexity fixture text, greedy story openings)", {
  skip,
}, () => {
  for (const [name, bounds] of Object.entries(BOUNDS)) {
    it(`${name}: same top token, KLD, perplexity and greedy generations`, async (t) => {
      const load: LoadParams = {
        model: model(`stories260K-${name}.gguf`),
        backend: "cpu",
        contextSize: CTX,
        seed: 1,
        threads: 1,
      };
      const ref = await startRunner(resolveRunner("cpu", undefined), load, 60_000);
      const gpu = await startRunner(
        resolveRunner("webgpu", undefined),
        { ...load, backend: "webgpu" },
        60_000,
      );
      try {
        const text = perplexityText(readFileSync(join(FIXTURES, "stories.txt"), "utf8"));
        const { tokens } = await ref.client.request("tokenize", { text });
        assert.deepEqual((await gpu.client.request("tokenize", { text })).tokens, tokens);
        const base = await scoreAll(ref.client, tokens, ref.loaded.bos);
        const ours = await scoreAll(gpu.client, tokens, gpu.loaded.bos);
        const kld: number[] = [];
        const sameTop: number[] = [];
        for (const [i, p] of base.dists.entries()) {
          const q = ours.dists[i] as Map<number, number>;
          const ids = [...p.keys()];
          kld.push(
            klDivergence(
              ids.map((id) => p.get(id) as number),
              ids.map((id) => q.get(id) ?? -1e30),
            ),
          );
          sameTop.push(ids[0] === q.keys().next().value ? 1 : 0);
        }
        const summary = summarizeKld(kld, sameTop);
        const ppl = combinePerplexity([nllSums(ours.logprobs)]);
        const llamaPpl = combinePerplexity([nllSums(base.logprobs)]);
        const reference = REFERENCE.results.find(
          (r) => r.model === `stories260K-${name}.gguf` && r.ctx === CTX,
        );
        const referencePpl = Math.exp(reference?.mean_nll ?? Number.NaN);
        const pplDiffPct = 100 * (ppl.ppl / referencePpl - 1);
        let identical = 0;
        for (const prompt of PROMPTS) {
          const params = { prompt, maxTokens: 32, stop: [], temperature: 0 };
          const a = await ref.client.request("generate", params);
          const b = await gpu.client.request("generate", params);
          if (a.text === b.text) identical++;
        }
        t.diagnostic(
          `${name}: n=${summary.n} same top ${summary.sameTopPct.toFixed(2)}% · mean KLD ${summary.meanKld.toExponential(2)} (from all ${VOCAB} log-probs) · ` +
            `ppl ${ppl.ppl.toFixed(4)} vs llama-perplexity ${referencePpl.toFixed(4)} (${pplDiffPct.toFixed(3)}%), runner ${llamaPpl.ppl.toFixed(4)} · ` +
            `greedy 32 tokens identical ${identical}/${PROMPTS.length}`,
        );
        assert.equal(summary.n, reference ? 1890 : summary.n);
        assert.ok(summary.sameTopPct >= bounds.sameTopPct, `same top ${summary.sameTopPct}%`);
        assert.ok(summary.meanKld <= 1e-3, `mean KLD ${summary.meanKld}`);
        assert.ok(Math.abs(pplDiffPct) <= 0.5, `ppl differs by ${pplDiffPct}%`);
        assert.ok(identical >= bounds.greedy, `${identical}/${PROMPTS.length} greedy identical`);
      } finally {
        await Promise.all([ref.client.stop(), gpu.client.stop()]);
      }
    });
  }
});
