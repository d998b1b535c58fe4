import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareVariantRuns, formatDelta } from "../../src/verdict/compare.js";
import type { VariantFacts } from "../../src/verdict/facts.js";

function run(scores: number[]): VariantFacts {
  return {
    quality: new Map([
      ["qa", new Map([["exact_match", new Map(scores.map((s, i) => [`i${i}`, s]))]])],
    ]),
    perplexity: new Map(),
  } as unknown as VariantFacts;
}
const OPTIONS = { confidence: 0.95, resamples: 500, seed: 1 };

describe("qbench compare's deltas", () => {
  it("fewer than 5 paired items never count as a move, however certain their interval looks", () => {
    const [one] = compareVariantRuns(run([1]), run([0]), OPTIONS);
    assert.deepEqual(one?.interval, [-1, -1]);
    assert.equal(one?.moved, false);
    assert.match(formatDelta(one as NonNullable<typeof one>), /n=1\)\s+too few pairs to tell$/);
    const [five] = compareVariantRuns(run([1, 1, 1, 1, 1]), run([0, 0, 0, 0, 0]), OPTIONS);
    assert.equal(five?.moved, true);
    assert.match(formatDelta(five as NonNullable<typeof five>), /worse$/);
  });
});
