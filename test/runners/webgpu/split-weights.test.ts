import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readGguf } from "../../../lib/gguf/reader.js";
import { BufferLimitError, BufferPool } from "../../../runners/webgpu/buffers.js";
import type { Gpu } from "../../../runners/webgpu/device.js";
import { LlamaGraph } from "../../../runners/webgpu/graph.js";
import { describeModel } from "../../../runners/webgpu/model-config.js";
import { rowsPerPart } from "../../../runners/webgpu/weights.js";
import { model, ROOT } from "../../support/paths.js";
import { type Arch, archModel, removeArchModels } from "./arch-models.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const TOKENS = (
  JSON.parse(readFileSync(join(ROOT, "test/fixtures/ppl/reference.json"), "utf8")) as {
    token_ids: number[];
  }
).token_ids.slice(100, 132);
/**
 * A storage binding of 10,000 bytes: stories260K's 512-row tables go in parts of 39 (F32) or
 * 147 (Q8_0) rows, and so do its layers' matrices that exceed it (all of them in F32; in Q8_0
 * the FFN's 172 × 68-byte gate and up).
 */
const CAP = 10_000;

async function loadGraph(path: string, bindingCap?: number): Promise<LlamaGraph> {
  const file = await readGguf(path);
  const fh = await open(path, "r");
  try {
    const options = { contextSize: 64, maxBatch: 32, bindingCap };
    return await LlamaGraph.load(found as Gpu, describeModel(file), fh, file.dataOffset, options);
  } finally {
    await fh.close();
  }
}

describe("embedding and output tables over the storage binding limit, split at rows", {
  skip,
}, () => {
  for (const name of ["f32", "q8_0"]) {
    it(`stories260K ${name}: the split graph's log-probabilities and greedy token are the whole one's`, async () => {
      const path = model(`stories260K-${name}.gguf`);
      const whole = await loadGraph(path);
      const split = await loadGraph(path, CAP);
      try {
        assert.ok(split.pool.liveBytes > 0);
        assert.ok(split.logitRows < whole.logitRows, "the logits go in turns too");
        assert.ok(
          split.layerSteps.length > whole.layerSteps.length + 2,
          "the layers' matrices are dispatched in parts",
        );
        const V = whole.config.nVocab;
        const targets = Uint32Array.from(TOKENS, (_, i) => i % V);
        const request = { targets, S: 1, K: V };
        const a = await whole.score(TOKENS, 0, 0, TOKENS.length, request);
        const b = await split.score(TOKENS, 0, 0, TOKENS.length, request);
        // The same arithmetic per row, whichever buffer holds it.
        assert.deepEqual(b, a);
        assert.equal(await split.nextToken(TOKENS, 0), await whole.nextToken(TOKENS, 0));
      } finally {
        whole.dispose();
        split.dispose();
      }
    });
  }
});

/**
 * Width 256, heads of 64: at a 140,000-byte binding Q goes two heads (128 rows of 1 KiB) a part,
 * gate and up 136 rows, down 68 (its 512-float rows) — every kernel family split, with each
 * architecture's way of reading them: phi3's fused QKV and gate/up tensors (parts cut from one
 * tensor's rows, NEOX pairs), qwen3's unrotated K for its head norm, gemma2's post-norms (the
 * projections store, a kernel adds) and GeGLU. (Each part is a kernel compiled at load, which
 * is most of these tests' time on llvmpipe; hence few parts and three architectures.)
 */
describe("layer matrices over the storage binding limit, split at rows", { skip }, () => {
  after(removeArchModels);
  for (const arch of ["phi3", "qwen3", "gemma2"] as Arch[]) {
    it(`${arch}: the split graph's log-probabilities and greedy token are the whole one's`, async () => {
      const path = await archModel(arch, "f32");
      const whole = await loadGraph(path);
      const split = await loadGraph(path, 140_000);
      try {
        assert.ok(split.layerSteps.length > whole.layerSteps.length + 2);
        const V = whole.config.nVocab;
        const targets = Uint32Array.from(TOKENS, (t) => (t * 7) % V);
        const request = { targets, S: 1, K: 8 };
        const a = await whole.score(TOKENS, 0, 0, TOKENS.length, request);
        const b = await split.score(TOKENS, 0, 0, TOKENS.length, request);
        assert.ok(a.every(Number.isFinite));
        assert.deepEqual(b, a);
        assert.equal(await split.nextToken(TOKENS, 0), await whole.nextToken(TOKENS, 0));
      } finally {
        whole.dispose();
        split.dispose();
      }
    });
  }

  it("a matrix whose least part (a head of Q) exceeds the binding is refused naming the tensor and the limit", async () => {
    const file = await readGguf(model("stories260K-f32.gguf"));
    const q = file.tensors.find((t) => t.name === "blk.0.attn_q.weight");
    assert.ok(q);
    // A head is 8 rows of 256 bytes: 2,048 bytes; one row alone would fit in 1,500.
    const pool = new BufferPool((found as Gpu).device, 1_500);
    assert.equal(rowsPerPart(pool, q), 5);
    assert.throws(
      () => rowsPerPart(pool, q, 8),
      (error: Error) =>
        error instanceof BufferLimitError &&
        error.message.includes("blk.0.attn_q.weight") &&
        error.message.includes("1500-byte storage binding limit (maxStorageBufferBindingSize)"),
    );
  });
});
