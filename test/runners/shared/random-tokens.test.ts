import assert from "node:assert/strict";
import { test } from "node:test";
import { randomTokens } from "../../../runners/shared/random-tokens.js";
import { seededRandom } from "../../../src/sweep/arrivals.js";

test("benchmark tokens: seeded, below the vocabulary, the same generator as the sweep's arrivals", () => {
  const tokens = randomTokens(1000, 32000, 7);
  assert.deepEqual(randomTokens(1000, 32000, 7), tokens);
  assert.notDeepEqual(randomTokens(1000, 32000, 8), tokens);
  assert.ok(tokens.every((t) => Number.isInteger(t) && t >= 0 && t < 32000));
  assert.ok(new Set(tokens).size > 950, "1000 draws from 32000 ids barely repeat");
  const uniform = seededRandom(7);
  assert.deepEqual(
    tokens,
    tokens.map(() => (uniform() * 2 ** 32) % 32000),
  );
});
