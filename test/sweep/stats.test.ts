import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exponentialGaps, seededRandom } from "../../src/sweep/arrivals.js";
import {
  isGood,
  percentile,
  type RequestOutcome,
  summarizeLevel,
  tpotMs,
} from "../../src/sweep/stats.js";

const outcome = (o: Partial<RequestOutcome>): RequestOutcome => ({
  ok: true,
  sentMs: 0,
  ttftMs: 10,
  itlMs: [],
  e2eMs: 10,
  outputTokens: 1,
  promptTokens: 5,
  ...o,
});

describe("sweep statistics (vLLM's serving-benchmark definitions)", () => {
  it("interpolates percentiles as numpy.percentile does", () => {
    // numpy.percentile([1, 2, 3, 4], [50, 90, 99]) = [2.5, 3.7, 3.97]
    assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
    assert.ok(Math.abs(percentile([1, 2, 3, 4], 90) - 3.7) < 1e-12);
    assert.ok(Math.abs(percentile([1, 2, 3, 4], 99) - 3.97) < 1e-12);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it("takes TPOT as (latency − TTFT) / (tokens − 1), 0 for one token", () => {
    assert.equal(tpotMs(outcome({ ttftMs: 20, e2eMs: 110, outputTokens: 10 })), 10);
    assert.equal(tpotMs(outcome({ outputTokens: 1 })), 0);
  });

  it("summarizes a level: throughput over its duration, ITL over every gap, goodput under budgets", () => {
    const outcomes = [
      outcome({ ttftMs: 10, itlMs: [2, 2, 2], e2eMs: 16, outputTokens: 4 }),
      outcome({ ttftMs: 50, itlMs: [4, 4, 4], e2eMs: 62, outputTokens: 4 }),
      outcome({ ok: false, error: "dropped" }),
    ];
    const stats = summarizeLevel(outcomes, 2, { ttftMs: 20, itlMs: 3 });
    assert.equal(stats.requests, 3);
    assert.equal(stats.completed, 2);
    assert.equal(stats.failed, 1);
    assert.equal(stats.requestThroughput, 1);
    assert.equal(stats.outputThroughput, 4);
    assert.equal(stats.itl?.p50, 3);
    assert.equal(stats.ttft?.mean, 30);
    assert.equal(stats.tpot?.p50, 3);
    // Only the first request meets both budgets; the failed one counts as not good.
    assert.equal(stats.goodShare, 1 / 3);
    assert.equal(stats.goodput, 0.5);
    assert.equal(summarizeLevel(outcomes, 2, {}).goodShare, null);
    assert.equal(isGood(outcomes[1] as RequestOutcome, { ttftMs: 100 }), true);
    assert.equal(isGood(outcomes[1] as RequestOutcome, { itlMs: 3.9 }), false);
  });

  it("draws seeded exponential gaps with mean 1 / rate", () => {
    const a = exponentialGaps(4, 7);
    const b = exponentialGaps(4, 7);
    const gaps = Array.from({ length: 20_000 }, () => a.next());
    assert.deepEqual(
      gaps.slice(0, 5),
      Array.from({ length: 5 }, () => b.next()),
    );
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    assert.ok(Math.abs(mean - 250) < 10, `mean gap ${mean} ms, expected 250 ms`);
    const random = seededRandom(1);
    assert.ok(Array.from({ length: 1000 }, random).every((x) => x >= 0 && x < 1));
  });
});
