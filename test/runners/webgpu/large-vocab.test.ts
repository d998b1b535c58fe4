import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readTokenizer, writeSyntheticLlama } from "../../../bench/quantize.js";
import type { Gpu } from "../../../runners/webgpu/device.js";
import type { LoadParams } from "../../../src/runner-client/protocol.js";
import { perplexityText } from "../../../src/scoring/perplexity.js";
import { ROOT } from "../../support/paths.js";
import { bundledVocab } from "../../support/real-shape.js";
import { startPair } from "./compare.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const CTX = 512;
const TOP_K = 8;

describe("a 128,256-token vocabulary at context 512 (logits over the storage binding limit)", {
  skip,
}, () => {
  let dir: string;
  let path: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "qbench-webgpu-vocab-"));
    path = join(dir, "llama3-vocab-f16.gguf");
    // Llama 3's vocab-only GGUF, out of the llama.cpp sources bundled in node-llama-cpp.
    const { metadata, size } = await readTokenizer(bundledVocab(dir));
    const shape = { layers: 2, dim: 128, ffn: 256, heads: 2, kvHeads: 1, vocab: size };
    await writeSyntheticLlama(path, shape, "f16", 3, metadata);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("loads, evaluates 512 positions like llama.cpp CPU and reports its live GPU buffers", async (t) => {
    const load: LoadParams = { model: path, backend: "cpu", contextSize: CTX, seed: 1, threads: 1 };
    const { ref, gpu } = await startPair(load, 120_000);
    try {
      assert.equal(gpu.loaded.vocabularySize, 128_256);
      assert.equal(gpu.loaded.contextSize, CTX);
      const text = perplexityText(
        readFileSync(join(ROOT, "test/fixtures/ppl/stories.txt"), "utf8"),
      );
      const all = (await ref.client.request("tokenize", { text })).tokens;
      const tokens = all.slice(0, CTX);
      const params = { tokens, scoreFrom: 1, topK: TOP_K };
      const [a, b] = await Promise.all([
        ref.client.request("evaluate", params, 600_000),
        gpu.client.request("evaluate", params, 600_000),
      ]);
      assert.equal(b.scored.length, CTX - 1);
      let same = 0;
      let worst = 0;
      for (const [i, s] of a.scored.entries()) {
        const o = b.scored[i];
        assert.ok(o?.top && s.top, `position ${i} has top-K`);
        assert.equal(o.top.length, TOP_K);
        if (o.top[0]?.[0] === s.top[0]?.[0]) same++;
        worst = Math.max(worst, Math.abs(o.logprob - s.logprob));
      }
      const sameTopPct = (100 * same) / a.scored.length;
      const memory = await gpu.client.request("memory", {});
      const used = memory.device?.used ?? 0;
      t.diagnostic(
        `same top ${sameTopPct.toFixed(2)}% · largest |Δ log p| of the actual token ${worst.toExponential(2)} · live GPU buffers ${used} bytes (file ${statSync(path).size})`,
      );
      assert.ok(sameTopPct >= 99, `same top ${sameTopPct}%`);
      assert.ok(worst < 1e-2, `largest log-probability difference ${worst}`);
      // Weights (the file less its header), KV cache, scratch, and logits of as many rows as
      // the adapter binds (128 MiB on llvmpipe: 261 of the 512 rows' 263 MB).
      const { limits } = (found as Gpu).device;
      const binding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
      const logits = Math.min(binding, CTX * 128_256 * 4);
      assert.ok(used > statSync(path).size * 0.99, `live buffers ${used}`);
      assert.ok(used < statSync(path).size + logits + 16 * 2 ** 20, `live buffers ${used}`);
    } finally {
      await Promise.all([ref.client.stop(), gpu.client.stop()]);
    }
  });
});
