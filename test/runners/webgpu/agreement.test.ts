import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, describe, it } from "node:test";
import { model } from "../../support/paths.js";
import { compareWithLlamaCpp, FIXTURES, type Positions } from "./compare.js";
import { gpuOrReason } from "./gpu-harness.js";
import { removeTestModels, storiesAs, wideAs } from "./test-models.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const CTX = 128;
const VOCAB = 512;
const REFERENCE = JSON.parse(readFileSync(join(FIXTURES, "reference.json"), "utf8")) as {
  results: Array<{ model: string; ctx: number; mean_nll: number }>;
};

interface Case {
  /** The file, made at test time for the quantized types. */
  path: () => Promise<string>;
  sameTopPct: number;
  greedy: number;
  meanKld: number;
  /**
   * The wide model's: every position of half the chunks (as many positions, half the forward
   * work); its random weights agree alike at any position. stories260K's files keep
   * llama-perplexity's second halves, where its figures and llama.cpp's own floor were measured
   * (on every position IQ4_NL's same top falls from 98.4 % to 98.0 %).
   */
  positions?: Positions;
}

/**
 * Bounds per file. Quantized files' same-top bound is llama.cpp's own: with flash attention on
 * vs off, llama.cpp CPU agrees with itself on 98.5–98.6 % (stories260K Q8_0/Q4_0) of these
 * positions, because its Q8_0 activation requantization magnifies any rounding difference
 * (docs/webgpu.md). Files named by `qbench quantize` type hold that mix's tensor types: on
 * stories260K (rows of 64 and 172) the k-quant mixes fall back to Q5_0/Q5_1/Q8_0/Q4_0/IQ4_NL;
 * the 256-wide model keeps Q2_K…Q6_K and IQ4_XS.
 */
const STORIES = (name: string) => () => Promise.resolve(model(`stories260K-${name}.gguf`));
const EXACT = { sameTopPct: 99.5, greedy: 14, meanKld: 1e-4 };
const QUANTIZED = { sameTopPct: 98, greedy: 9, meanKld: 1e-3 };
/**
 * The random-weight model's distributions are nearly flat (perplexity ≈ 560 of 512 ids), so its
 * top token is often a near-tie: llama.cpp CPU agrees with itself (flash attention on vs off)
 * on only 97.2–97.7 % of llama-perplexity's positions (the chunks' second halves) for its k-quant
 * files, with mean KLD 1.6e-5 (docs/webgpu.md); the WebGPU runner's same top on them was
 * 96.88–97.88 %, and on every position of half the chunks (what these cases compare) 96.69–97.85 %.
 */
const WIDE_QUANTIZED = { sameTopPct: 96, greedy: 4, meanKld: 5e-5, positions: "all" as const };
const CASES: Record<string, Case> = {
  f32: { path: STORIES("f32"), ...EXACT },
  f16: { path: STORIES("f16"), ...EXACT },
  q8_0: { path: STORIES("q8_0"), ...QUANTIZED },
  q4_0: { path: STORIES("q4_0"), ...QUANTIZED },
  bf16: { path: () => storiesAs("bf16"), ...EXACT },
  q4_1: { path: () => storiesAs("q4_1"), ...QUANTIZED },
  "q4_k_m (Q5_0, Q8_0)": { path: () => storiesAs("q4_k_m"), ...QUANTIZED },
  "q5_k_m (Q5_1, Q8_0)": { path: () => storiesAs("q5_k_m"), ...QUANTIZED },
  "iq4_nl (IQ4_NL, Q8_0)": { path: () => storiesAs("iq4_nl"), ...QUANTIZED },
  "wide f16": { path: () => wideAs("f16"), ...EXACT, positions: "all" },
  // Q4_K_M holds Q4_K and Q6_K, Q5_K_M Q5_K and Q6_K, Q2_K Q2_K and Q3_K (and Q6_K output).
  "wide q4_k_m": { path: () => wideAs("q4_k_m"), ...WIDE_QUANTIZED },
  "wide q5_k_m": { path: () => wideAs("q5_k_m"), ...WIDE_QUANTIZED },
  "wide q2_k": { path: () => wideAs("q2_k"), ...WIDE_QUANTIZED },
  "wide iq4_xs": { path: () => wideAs("iq4_xs"), ...WIDE_QUANTIZED },
};

describe("WebGPU vs llama.cpp CPU per file and format (the perplexity fixture text, greedy story openings)", {
  skip,
}, () => {
  after(removeTestModels);
  for (const [name, bounds] of Object.entries(CASES)) {
    it(`${name}: same top token, KLD, perplexity and greedy generations`, async (t) => {
      const path = await bounds.path();
      const positions = bounds.positions ?? "second-halves";
      const r = await compareWithLlamaCpp(path, { ctx: CTX, vocab: VOCAB, positions });
      // llama-perplexity's own figure where the fixture has it, else the llama.cpp runner's.
      const reference = REFERENCE.results.find((x) => x.model === basename(path) && x.ctx === CTX);
      const referencePpl = reference ? Math.exp(reference.mean_nll) : r.llamaPpl;
      const pplDiffPct = 100 * (r.ppl / referencePpl - 1);
      t.diagnostic(
        `${name}: n=${r.n} same top ${r.sameTopPct.toFixed(2)}% · mean KLD ${r.meanKld.toExponential(2)} (from all ${VOCAB} log-probs) · ` +
          `ppl ${r.ppl.toFixed(4)} vs ${reference ? "llama-perplexity" : "llama.cpp runner"} ${referencePpl.toFixed(4)} (${pplDiffPct.toFixed(3)}%), runner ${r.llamaPpl.toFixed(4)} · ` +
          `greedy 32 tokens identical ${r.greedyIdentical}/${r.prompts}`,
      );
      assert.equal(r.n, positions === "all" ? 1905 : 1890);
      assert.ok(r.sameTopPct >= bounds.sameTopPct, `same top ${r.sameTopPct}%`);
      assert.ok(r.meanKld <= bounds.meanKld, `mean KLD ${r.meanKld}`);
      assert.ok(Math.abs(pplDiffPct) <= 0.5, `ppl differs by ${pplDiffPct}%`);
      assert.ok(
        r.greedyIdentical >= bounds.greedy,
        `${r.greedyIdentical}/${r.prompts} greedy identical`,
      );
    });
  }
});
