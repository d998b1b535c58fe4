import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeGqaLlama } from "../../bench/quantize.js";
import { type GgufFile, readGguf } from "../../lib/gguf/reader.js";
import { capacityOf } from "../../src/capacity/capacity.js";
import { kvCacheBytes, kvCacheProblem, kvCells, kvShapeOf } from "../../src/capacity/kv-cache.js";
import { RunnerFailure } from "../../src/errors.js";
import type { LoadResult } from "../../src/runner-client/protocol.js";
import { resolveRunner } from "../../src/runner-client/registry.js";
import { startRunner } from "../../src/runner-client/start.js";
import { model } from "../support/paths.js";

const MIB = 1024 * 1024;
const BYTES_PER_ELEMENT = { f16: 2, q8_0: 34 / 32, q4_0: 18 / 32 } as const;

async function loadWith(path: string, contextSize: number, kvCache: { k: string; v: string }) {
  const started = await startRunner(
    resolveRunner("cpu", undefined),
    { model: path, backend: "cpu", contextSize, seed: 1, threads: 1, kvCache },
    60_000,
  );
  await started.client.stop();
  return started.loaded;
}

function formula(file: GgufFile, loaded: LoadResult, kv: { k: string; v: string }): number {
  const shape = kvShapeOf(file);
  return kvCacheBytes(shape, kvCells(shape, loaded.contextSize, loaded.contextSize), kv).total;
}

/** Within 2 %, or within the engine's own rounding (it logs MiB to two decimals). */
function assertClose(measured: number, predicted: number, label: string): void {
  const slack = Math.max(0.02 * predicted, 0.005 * MIB);
  assert.ok(
    Math.abs(measured - predicted) <= slack,
    `${label}: engine ${measured} B vs formula ${predicted} B`,
  );
}

describe("the KV cache formula against llama.cpp's own allocation (real runner, CPU)", () => {
  let dir: string;
  let gqaPath: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "qbench-kv-"));
    // Grouped-query attention (head size 64) with the shared tiny model's real 32k tokenizer.
    gqaPath = join(dir, "gqa.gguf");
    await writeGqaLlama(gqaPath, model("llama-2-tiny-random.gguf"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const caches: { k: keyof typeof BYTES_PER_ELEMENT; v: keyof typeof BYTES_PER_ELEMENT }[] = [
    { k: "f16", v: "f16" },
    { k: "q8_0", v: "q8_0" },
    { k: "q4_0", v: "q4_0" },
    { k: "q8_0", v: "f16" },
  ];
  for (const kv of caches) {
    it(`GQA model, ctx 2000 (allocated 2048), K ${kv.k} / V ${kv.v}`, async () => {
      const loaded = await loadWith(gqaPath, 2000, kv);
      assert.deepEqual(loaded.kvCache, kv);
      assert.deepEqual(loaded.engineMemory?.kvTypes, kv);
      assert.equal(loaded.engineMemory?.kvCells, 2048);
      const predicted = formula(await readGguf(gqaPath), loaded, kv);
      // cells × layers × (K + V bytes of 2 KV heads × head dim 64)
      assert.equal(predicted, 2048 * 4 * 128 * (BYTES_PER_ELEMENT[kv.k] + BYTES_PER_ELEMENT[kv.v]));
      assertClose(loaded.engineMemory?.kvBytes ?? -1, predicted, `${kv.k}/${kv.v}`);
      assert.ok((loaded.engineMemory?.computeBytes ?? 0) > 0, "the compute buffers are reported");
      assert.ok(
        (loaded.engineMemory?.modelBufferBytes ?? 0) > 30 * MIB,
        "the weights are reported",
      );
    });
  }

  for (const [file, ctx] of [
    ["stories260K-f32.gguf", 4096],
    ["llama-2-tiny-random.gguf", 1024],
  ] as const) {
    it(`${file}, ctx ${ctx}, F16 cache`, async () => {
      const kv = { k: "f16", v: "f16" };
      const loaded = await loadWith(model(file), ctx, kv);
      const predicted = formula(await readGguf(model(file)), loaded, kv);
      assertClose(loaded.engineMemory?.kvBytes ?? -1, predicted, file);
    });
  }

  it("refuses a quantized K cache whose block does not divide the head, naming llama.cpp's reason", async () => {
    await assert.rejects(
      loadWith(model("stories260K-f32.gguf"), 256, { k: "q8_0", v: "q8_0" }),
      (error: unknown) =>
        error instanceof RunnerFailure &&
        /q8_0 K \/ q8_0 V cache: .*block size 32 does not divide n_embd_head_k=8/.test(
          error.message,
        ),
    );
  });
});

describe("capacity", () => {
  it("fits the context and the sequences the budget leaves room for", async () => {
    const shape = kvShapeOf(await readGguf(model("stories260K-f32.gguf")));
    // stories260K: 5 layers × (32 K + 32 V elements) per cell; f16 = 640 bytes a token.
    const kv = { k: "f16", v: "f16" };
    const base = {
      shape,
      kvTypes: kv,
      weightBytes: 1 * MIB,
      computeBytes: 3 * MIB,
      microBatch: 512,
    };
    const c = capacityOf({ ...base, budgetBytes: 20 * MIB, contextSize: 512 });
    assert.equal(c.kvBytesPerToken, 640);
    assert.equal(c.kvBytesAtContext, 512 * 640);
    assert.equal(c.freeForKvBytes, 16 * MIB);
    assert.equal(c.maxContext, Math.floor((16 * MIB) / 640 / 256) * 256);
    assert.equal(c.concurrentAtContext, Math.floor((16 * MIB) / (512 * 640)));
    const q8 = capacityOf({
      ...base,
      kvTypes: { k: "q8_0", v: "q8_0" },
      budgetBytes: 20 * MIB,
      contextSize: 512,
    });
    assert.equal(q8.kvBytesPerToken, 5 * 2 * 34);
    assert.ok(q8.concurrentAtContext > c.concurrentAtContext);
    const none = capacityOf({ ...base, budgetBytes: 2 * MIB, contextSize: 512 });
    assert.equal(none.maxContext, 0);
    assert.equal(none.concurrentAtContext, 0);
  });

  it("counts sliding-window layers at the window, as llama.cpp's iSWA cache does", () => {
    // gemma3's default pattern: five window layers, then a full one.
    const layers = Array.from({ length: 12 }, (_, il) => ({
      headK: 256,
      headV: 256,
      k: 256,
      v: 256,
      swa: il % 6 < 5,
    }));
    const shape = { architecture: "gemma3", layers, window: 1024 };
    const cells = kvCells(shape, 8192, 512);
    assert.deepEqual(cells, { full: 8192, window: 1536 });
    const bytes = kvCacheBytes(shape, cells, { k: "f16", v: "f16" });
    assert.equal(bytes.total, (2 * 8192 + 10 * 1536) * 2 * 256 * 2);
  });
});

describe("cache types llama.cpp refuses", () => {
  it("names the head size a quantized cache's block does not divide, before anything runs", async () => {
    const stories = kvShapeOf(await readGguf(model("stories260K-f32.gguf")));
    assert.equal(
      kvCacheProblem(stories, { k: "q8_0", v: "f16" }),
      "a q8_0 K cache needs a head size divisible by 32; layer 0 of this llama model has 8",
    );
    assert.match(kvCacheProblem(stories, { k: "f16", v: "q4_0" }) ?? "", /q4_0 V cache/);
    assert.equal(kvCacheProblem(stories, { k: "f16", v: "bf16" }), undefined);
  });
});
