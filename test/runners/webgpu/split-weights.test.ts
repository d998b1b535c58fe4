import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readGguf } from "../../../lib/gguf/reader.js";
import type { Gpu } from "../../../runners/webgpu/device.js";
import { LlamaGraph } from "../../../runners/webgpu/graph.js";
import { describeModel } from "../../../runners/webgpu/model-config.js";
import { model, ROOT } from "../../support/paths.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const TOKENS = (
  JSON.parse(readFileSync(join(ROOT, "test/fixtures/ppl/reference.json"), "utf8")) as {
    token_ids: number[];
  }
).token_ids.slice(100, 132);
/** A storage binding of 10,000 bytes: stories260K's 512-row tables go in parts of 39 (F32) or 147 (Q8_0) rows. */
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
