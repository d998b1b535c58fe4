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
import { logSoftmaxRef } from "./reference.js";
import { RefLlama } from "./reference-model.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const FILES = ["f32", "f16", "q8_0", "q4_0"];
/** 40 tokens of the perplexity fixture (llama-tokenize's ids), past its first line. */
const TOKENS = (
  JSON.parse(readFileSync(join(ROOT, "test/fixtures/ppl/reference.json"), "utf8")) as {
    token_ids: number[];
  }
).token_ids.slice(100, 140);

async function loadGraph(path: string, maxBatch: number): Promise<LlamaGraph> {
  const file = await readGguf(path);
  const fh = await open(path, "r");
  try {
    return await LlamaGraph.load(found as Gpu, describeModel(file), fh, file.dataOffset, {
      contextSize: 64,
      maxBatch,
    });
  } finally {
    await fh.close();
  }
}

describe("the WebGPU forward pass vs the TypeScript reference model (stories260K)", {
  skip,
}, () => {
  for (const name of FILES) {
    it(`${name}: every position's log-probabilities, prefilled in chunks of 16`, async () => {
      const path = model(`stories260K-${name}.gguf`);
      const ref = (await RefLlama.open(path)).forward(TOKENS).map(logSoftmaxRef);
      const graph = await loadGraph(path, 16);
      try {
        const V = graph.config.nVocab;
        let worst = 0;
        for (let c0 = 0; c0 < TOKENS.length; c0 += 16) {
          const chunk = TOKENS.slice(c0, c0 + 16);
          const targets = Uint32Array.from(chunk.map((_, i) => i % V));
          const rows = await graph.score(chunk, c0, 0, chunk.length, { targets, S: 1, K: V });
          for (let r = 0; r < chunk.length; r++) {
            const want = ref[c0 + r] as Float64Array;
            const row = rows.subarray(r * (1 + 2 * V), (r + 1) * (1 + 2 * V));
            for (let k = 0; k < V; k++) {
              const id = row[1 + 2 * k] as number;
              const lp = row[2 + 2 * k] as number;
              // Differences in near-impossible tokens do not matter and are the noisiest.
              if ((want[id] as number) > -10) {
                worst = Math.max(worst, Math.abs(lp - (want[id] as number)));
              }
            }
          }
        }
        // f16 rounding of K/V can land one f16 step apart from the reference's: ~1e-3 at most.
        assert.ok(worst < 5e-3, `largest log-probability difference ${worst}`);
      } finally {
        graph.dispose();
      }
    });
  }

  it("greedy decoding through the KV cache picks the reference's argmax at every step", async () => {
    const path = model("stories260K-q8_0.gguf");
    const ref = await RefLlama.open(path);
    const graph = await loadGraph(path, 16);
    try {
      const prompt = TOKENS.slice(0, 20);
      const seq = [...prompt];
      await graph.nextToken(prompt.slice(0, 16), 0);
      seq.push(await graph.nextToken(prompt.slice(16), 16));
      for (let step = 1; step < 12; step++) {
        seq.push(await graph.nextToken([seq.at(-1) as number], seq.length - 1));
      }
      // The reference is causal: one pass over the whole sequence gives every step's logits.
      const all = ref.forward(seq);
      for (let step = 0; step < 12; step++) {
        const logits = all[prompt.length - 1 + step] as Float32Array;
        let best = 0;
        for (let i = 1; i < logits.length; i++)
          if ((logits[i] as number) > (logits[best] as number)) best = i;
        assert.equal(seq[prompt.length + step], best, `step ${step}`);
      }
    } finally {
      graph.dispose();
    }
  });
});
