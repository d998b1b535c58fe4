import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { memoryNotes } from "../../src/report/tables.js";

describe("the memory table's notes", () => {
  it("are sentences, one per reason, never the stored JSON", () => {
    // As `qbench run` stores them on a machine without a GPU.
    const stored = JSON.stringify({
      device: "no NVIDIA GPU here (nvidia-smi not found or failed)",
      processDevice: "no NVIDIA GPU here (nvidia-smi not found or failed)",
      engineDevice: "the engine reports no device memory (CPU backend)",
    });
    assert.deepEqual(memoryNotes(stored), [
      "device peak, process device peak: no NVIDIA GPU here (nvidia-smi not found or failed)",
      "engine device memory: the engine reports no device memory (CPU backend)",
    ]);
    assert.deepEqual(memoryNotes("{}"), []);
    assert.deepEqual(memoryNotes(null), []);
    assert.deepEqual(memoryNotes("not json"), ["not json"]);
  });
});
