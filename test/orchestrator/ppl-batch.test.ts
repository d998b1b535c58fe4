import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { windowsPerBatch } from "../../src/orchestrator/ppl-session.js";

describe("chunks per evaluateBatch", () => {
  it("packs llama-perplexity's n_seq = 2048 / ctx chunks, at most one per core and 16", () => {
    assert.equal(windowsPerBatch(512, 8), 4);
    assert.equal(windowsPerBatch(512, 2), 2);
    assert.equal(windowsPerBatch(128, 64), 16);
    assert.equal(windowsPerBatch(4096, 8), 1);
    assert.equal(windowsPerBatch(512, 1), 1);
  });
});
