import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunFacts, VariantFacts } from "../../src/verdict/facts.js";
import { countFlips } from "../../src/verdict/flips.js";
import { Gates } from "../../src/verdict/gates.js";
import { decide } from "../../src/verdict/policy.js";

function variant(name: string, isBaseline: boolean, scores: number[]): VariantFacts {
  const items = new Map(scores.map((s, i) => [`i${i}`, s]));
  return {
    id: isBaseline ? 1 : 2,
    name,
    precision: name,
    isBaseline,
    status: "complete",
    error: null,
    modelBytes: 1,
    peakRssBytes: null,
    failedItems: 0,
    quality: new Map([["mc", new Map([["acc", items]])]]),
    completionTokens: new Map(),
    ttftMs: new Float64Array(),
    decodeTps: new Float64Array(),
    prefillTps: new Float64Array(),
    e2eMs: new Float64Array(),
    busyMs: 0,
    perplexity: new Map(),
  };
}

const facts = (base: number[], other: number[]): RunFacts => ({
  runId: 1,
  planName: "t",
  planJson: "{}",
  status: "complete",
  startedAt: "",
  variants: [variant("base", true, base), variant("int4", false, other)],
});

/** n items, the baseline right on the first half; the variant flips `lost` right ones and `gained` wrong ones. */
function paired(n: number, lost: number, gained: number): [number[], number[]] {
  const base = Array.from({ length: n }, (_, i) => (i < n / 2 ? 1 : 0));
  const other = base.map((s, i) => (i < lost ? 0 : i >= n / 2 && i < n / 2 + gained ? 1 : s));
  return [base, other];
}

describe("flips: the share of items whose correctness changed (Dutta et al. 2024)", () => {
  it("counts both directions, with a Wilson interval", () => {
    const [b, v] = paired(200, 10, 10);
    const flips = countFlips(b, v, 0.95);
    assert.deepEqual([flips.lost, flips.gained, flips.n], [10, 10, 200]);
    assert.equal(flips.rate, 0.1);
    // Wilson 95 % for 20 of 200: [0.0658, 0.1495].
    assert.ok(Math.abs(flips.low - 0.0658) < 5e-4 && Math.abs(flips.high - 0.1495) < 5e-4);
  });

  it("same accuracy, many flips: the quality gate passes, the flips gate fails", () => {
    const [b, v] = paired(400, 40, 40);
    const gates = Gates.parse({ flips: { maxRate: 0.05 } });
    const [, verdict] = decide(facts(b, v), gates);
    const quality = verdict?.reasons.find((r) => r.gate === "quality");
    const flips = verdict?.reasons.find((r) => r.gate === "flips");
    assert.equal(quality?.metric, "acc");
    assert.match(quality?.message ?? "", /McNemar p=.*; flips 20\.0 %/);
    assert.equal(flips?.status, "fail");
    assert.equal(flips?.value, 0.2);
    assert.match(flips?.message ?? "", /flips of acc on mc: 20\.0 % \(40 lost, 40 gained of 400/);
    assert.equal(verdict?.verdict, "NO-SHIP");
  });

  it("few flips pass; without gates.flips there is no flips finding", () => {
    const [b, v] = paired(400, 1, 0);
    const [, gated] = decide(
      facts(b, v),
      Gates.parse({ flips: { maxRate: 0.05 }, quality: { minRatio: 0.9 } }),
    );
    assert.equal(gated?.reasons.find((r) => r.gate === "flips")?.status, "pass");
    const [, plain] = decide(facts(b, v), Gates.parse({ quality: { minRatio: 0.9 } }));
    assert.equal(
      plain?.reasons.find((r) => r.gate === "flips"),
      undefined,
    );
  });
});
