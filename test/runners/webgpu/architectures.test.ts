import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readGguf } from "../../../lib/gguf/reader.js";
import { describeModel, UnsupportedModelError } from "../../../runners/webgpu/model-config.js";
import { bundledVocab } from "../../support/real-shape.js";
import { type Arch, archModel, type Format, removeArchModels } from "./arch-models.js";
import { compareOnOwnVocabulary, compareWithLlamaCpp } from "./compare.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
/**
 * F16 for every architecture, F32 for the two that use every kernel of their own (gemma2's
 * soft-capping; gemma3's head norm, post-norms, sliding layers with their own RoPE);
 * `node dist/bench/architectures.js` runs every architecture in both (docs/webgpu.md).
 */
const CASES: Array<[Arch, Format]> = [
  ["llama", "f16"],
  ["qwen2", "f16"],
  ["qwen3", "f16"],
  ["phi3", "f16"],
  ["gemma", "f16"],
  ["gemma2", "f16"],
  ["gemma2", "f32"],
  ["gemma3", "f16"],
  ["gemma3", "f32"],
];

describe("each architecture's graph as llama.cpp reads it from the file", () => {
  after(removeArchModels);

  it("reads the per-architecture parts from the tensors and keys", async () => {
    const read = async (arch: Arch) => describeModel(await readGguf(await archModel(arch, "f32")));
    const qwen2 = await read("qwen2");
    assert.equal(qwen2.config.ropeNeox, true);
    assert.ok(qwen2.layers.every((l) => l.bias?.q.name.endsWith("attn_q.bias")));
    const qwen3 = await read("qwen3");
    assert.equal(qwen3.config.nHead * qwen3.config.headDim, 512);
    assert.ok(qwen3.layers.every((l) => l.qNorm && l.kNorm));
    const phi3 = await read("phi3");
    assert.deepEqual(phi3.layers[0]?.qkvRow0, [0, 256, 384]);
    assert.equal(phi3.layers[0]?.upRow0, 512);
    assert.equal(phi3.config.nRot, 32);
    const gemma2 = await read("gemma2");
    const c = gemma2.config;
    assert.deepEqual(
      [c.embedScale, c.attnSoftcap, c.finalSoftcap, c.slidingWindow, c.ffnAct, gemma2.tiedOutput],
      [16, Math.fround(0.2), 1, 32, "gelu", true],
    );
    // llama.cpp's gemma2 pattern 2: even layers slide, odd ones attend to everything.
    assert.deepEqual(
      gemma2.layers.map((l) => l.swa),
      [true, false],
    );
    const gemma3 = await read("gemma3");
    const g3 = gemma3.config;
    assert.deepEqual(
      [g3.ropeBase, g3.ropeFreqScale, g3.ropeBaseSwa, g3.ropeFreqScaleSwa, g3.finalSoftcap],
      [1_000_000, 1 / 8, 10_000, 1, 0],
    );
    assert.deepEqual(
      gemma3.layers.map((l) => [l.swa, Boolean(l.qNorm && l.postFfnNorm)]),
      [
        [true, true],
        [false, true],
      ],
    );
    const gemma = await read("gemma");
    assert.deepEqual(
      [gemma.config.embedScale, gemma.config.postNorms, gemma.config.ffnAct],
      [16, false, "gelu"],
    );
    const llama = await read("llama");
    assert.equal(llama.config.ropeNeox, false);
    assert.equal(llama.config.ropeBase, 1_000_000);
  });

  it("refuses a tensor its graph does not read, as llama.cpp's loader does", async () => {
    const file = await readGguf(await archModel("llama", "f32"));
    const extra = {
      ...file.tensors[0],
      name: "blk.0.attn_output.bias",
    } as (typeof file.tensors)[0];
    assert.throws(
      () => describeModel({ ...file, tensors: [...file.tensors, extra] }),
      (e) =>
        e instanceof UnsupportedModelError &&
        e.code === "UNSUPPORTED" &&
        /blk\.0\.attn_output\.bias/.test(e.message),
    );
  });
});

/**
 * The random-weight models' distributions are nearly flat (perplexity ≈ 540–565 of 512 ids),
 * so greedy continuations part at the first near-tie; same top and KLD are the main bounds.
 */
describe("WebGPU vs llama.cpp CPU per architecture and format (random weights in each real layout)", {
  skip,
}, () => {
  after(removeArchModels);
  for (const [arch, format] of CASES) {
    it(`${arch} ${format}: same top token, KLD, perplexity and greedy generations`, async (t) => {
      const r = await compareWithLlamaCpp(await archModel(arch, format), {
        ctx: 128,
        vocab: 512,
        positions: "all",
      });
      const pplDiffPct = 100 * (r.ppl / r.llamaPpl - 1);
      t.diagnostic(
        `${arch} ${format}: n=${r.n} same top ${r.sameTopPct.toFixed(2)}% · mean KLD ${r.meanKld.toExponential(2)} · ` +
          `ppl ${r.ppl.toFixed(3)} vs llama.cpp ${r.llamaPpl.toFixed(3)} (${pplDiffPct.toFixed(4)}%) · greedy 32 tokens identical ${r.greedyIdentical}/${r.prompts}`,
      );
      assert.equal(r.n, 1905);
      assert.ok(r.sameTopPct >= 99.5, `same top ${r.sameTopPct}%`);
      assert.ok(r.meanKld <= 1e-4, `mean KLD ${r.meanKld}`);
      assert.ok(Math.abs(pplDiffPct) <= 0.1, `ppl differs by ${pplDiffPct}%`);
      assert.ok(r.greedyIdentical >= 12, `${r.greedyIdentical}/${r.prompts} greedy identical`);
    });
  }
});

/**
 * Each family on its own vocabulary (read out of node-llama-cpp's bundled llama.cpp sources):
 * llama.cpp loads the layout with the real tokenizer, both runners tokenize the multilingual
 * fixture alike, and the output projection over 32k–262k rows (the logits in turns where
 * they exceed one storage binding) agrees. Width 128, so the vocabulary stays cheap.
 */
describe("WebGPU vs llama.cpp CPU per architecture on the family's own vocabulary", {
  skip,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "qbench-arch-vocab-"));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    removeArchModels();
  });
  const cases: Array<[Arch, string, number]> = [
    ["phi3", "phi-3", 32_064],
    ["qwen3", "qwen2", 151_936],
    ["gemma3", "gemma-4", 262_144],
  ];
  for (const [arch, vocab, size] of cases) {
    it(`${arch} with ${vocab}'s ${size} tokens: same ids, 127 positions like llama.cpp`, async (t) => {
      const path = await archModel(arch, "f16", {
        dim: 128,
        tokenizerGguf: bundledVocab(dir, vocab),
      });
      const r = await compareOnOwnVocabulary(path, 128);
      t.diagnostic(
        `${arch} / ${vocab}: vocabulary ${r.vocabularySize}, multilingual text ${r.tokens} ids ${r.sameTokens ? "identical" : "DIFFERENT"} · same top ${r.sameTop}/${r.n} · largest |Δ log p| ${r.worst.toExponential(2)}`,
      );
      assert.equal(r.vocabularySize, size);
      assert.ok(r.sameTokens, "the runners tokenize the multilingual text alike");
      assert.equal(r.n, 127);
      assert.ok(r.sameTop >= 126, `same top ${r.sameTop}/${r.n}`);
      assert.ok(r.worst < 1e-2, `largest log-probability difference ${r.worst}`);
    });
  }
});
