import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fastestThreads,
  measuredReason,
  threadCandidates,
} from "../../src/orchestrator/threads-choice.js";

describe("threads: auto's choice rule", () => {
  it("tries 1, 2, 4, … and the core count itself", () => {
    assert.deepEqual(threadCandidates(1), [1]);
    assert.deepEqual(threadCandidates(2), [1, 2]);
    assert.deepEqual(threadCandidates(6), [1, 2, 4, 6]);
    assert.deepEqual(threadCandidates(8), [1, 2, 4, 8]);
    assert.throws(() => threadCandidates(0), /cores must be a whole number ≥ 1, got 0/);
  });

  it("keeps the fastest, whichever count it is", () => {
    // This machine's figures (issue 15): the prebuilt engine spin-waits at 2 threads.
    const slowAtTwo = [
      { threads: 1, tokensPerSecond: 178 },
      { threads: 2, tokensPerSecond: 61 },
    ];
    assert.equal(fastestThreads(slowAtTwo), 1);
    const scales = [
      { threads: 1, tokensPerSecond: 20 },
      { threads: 2, tokensPerSecond: 37 },
      { threads: 4, tokensPerSecond: 52 },
      { threads: 8, tokensPerSecond: 49 },
    ];
    assert.equal(fastestThreads(scales), 4);
  });

  it("takes the fewer threads on a tie, and refuses no figures", () => {
    const tie = [
      { threads: 4, tokensPerSecond: 50 },
      { threads: 2, tokensPerSecond: 50 },
    ];
    assert.equal(fastestThreads(tie), 2);
    assert.throws(() => fastestThreads([]), /no measured thread counts/);
  });

  it("says what was measured, the chosen count first, with the cache date", () => {
    const figures = [
      { threads: 2, tokensPerSecond: 61.2 },
      { threads: 1, tokensPerSecond: 178.4 },
    ];
    assert.equal(
      measuredReason(figures, 1, "2026-12-02T06:10:00.000Z"),
      "measured: 1 thread 178 tok/s vs 2 threads 61 tok/s, cached 2026-12-02",
    );
  });
});
