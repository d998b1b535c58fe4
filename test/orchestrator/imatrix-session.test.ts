import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError } from "../../src/errors.js";
import { imatrixChunks } from "../../src/orchestrator/imatrix-session.js";

describe("llama-imatrix's chunks (compute_imatrix)", () => {
  const tokens = Array.from({ length: 70 }, (_, i) => 100 + i);

  it("cuts whole chunks of ctx, the first token of each set to BOS, the tail left out; every token kept", () => {
    const chunks = imatrixChunks(tokens, 16, 1, undefined, "calib.txt");
    assert.equal(chunks.length, 4);
    assert.deepEqual(chunks[1], [1, ...tokens.slice(17, 32)]);
    assert.ok(chunks.every((c) => c.length === 16));
    // A model that adds no BOS keeps its first token.
    assert.deepEqual(
      imatrixChunks(tokens, 16, null, undefined, "calib.txt")[2],
      tokens.slice(32, 48),
    );
  });

  it("--chunks takes the first N", () => {
    assert.equal(imatrixChunks(tokens, 16, 1, 3, "calib.txt").length, 3);
    assert.equal(imatrixChunks(tokens, 16, 1, 9, "calib.txt").length, 4);
  });

  it("refuses fewer than 2 × ctx tokens as bad input, naming the text", () => {
    assert.throws(
      () => imatrixChunks(tokens, 36, 1, undefined, "calib.txt"),
      (e: unknown) =>
        e instanceof InputError &&
        e.code === "BAD_INPUT" &&
        e.location === "calib.txt" &&
        /70 tokens; --ctx 36 needs at least 72/.test(e.message),
    );
  });
});
