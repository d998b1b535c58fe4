import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunFacts, VariantFacts } from "../../src/verdict/facts.js";
import { Gates } from "../../src/verdict/gates.js";
import { decide } from "../../src/verdict/policy.js";

/** One perplexity suite of 200 tokens: equal log-probs, the variant's per-token KLD `kld`. */
function variant(
  isBaseline: boolean,
  kld: number,
  kldBound?: { tokens: number; coveredMass: number },
): VariantFacts {
  const logprobs = Float32Array.from({ length: 200 }, (_, i) => -2 - (i % 7) / 10);
  const scored = isBaseline
    ? { logprobs }
    : {
        logprobs,
        kld: Float32Array.from({ length: 200 }, (_, i) => kld * (0.5 + (i % 3) / 2)),
        sameTop: new Uint8Array(200).fill(1),
      };
  return {
    id: isBaseline ? 1 : 2,
    name: isBaseline ? "f16" : "q4",
    precision: isBaseline ? "f16" : "q4",
    isBaseline,
    status: "complete",
    error: null,
    modelBytes: 1,
    peakRssBytes: null,
    failedItems: 0,
    quality: new Map(),
    completionTokens: new Map(),
    ttftMs: new Float64Array(),
    decodeTps: new Float64Array(),
    prefillTps: new Float64Array(),
    e2eMs: new Float64Array(),
    busyMs: 0,
    perplexity: new Map([
      ["ppl", { items: new Map([["c0", scored]]), ...(kldBound ? { kldBound } : {}) }],
    ]),
  };
}

function kldReason(kld: number, bound?: { tokens: number; coveredMass: number }) {
  const facts: RunFacts = {
    runId: 1,
    planName: "t",
    planJson: "{}",
    status: "complete",
    startedAt: "",
    variants: [variant(true, 0), variant(false, kld, bound)],
  };
  const [, v] = decide(facts, Gates.parse({ kld: { maxMean: 0.05, maxP99: 0.1 } }));
  return v?.reasons.filter((r) => r.gate === "kld") ?? [];
}

describe("a KLD that is only a top-K lower bound", () => {
  it("passes as before where the kept entries cover ≥ 99.9 % of the baseline's mass, saying it is a bound", () => {
    const [mean, p99] = kldReason(0.01, { tokens: 200, coveredMass: 200 * 0.9995 });
    assert.equal(mean?.status, "pass");
    assert.equal(p99?.status, "pass");
    assert.match(
      mean?.message ?? "",
      /a lower bound: the baseline's top-K covers 99\.95 % of its mass/,
    );
  });

  it("is inconclusive where a pass rests on a loose bound (a flat 128k distribution: 1 % covered)", () => {
    const [mean, p99] = kldReason(0.01, { tokens: 200, coveredMass: 200 * 0.01 });
    assert.equal(mean?.status, "inconclusive");
    assert.equal(p99?.status, "inconclusive");
    assert.match(
      mean?.message ?? "",
      /covers 1\.00 % of its mass, too little to pass on: inconclusive/,
    );
  });

  it("still fails on a loose bound: the exact KLD is higher still", () => {
    const [mean] = kldReason(0.2, { tokens: 200, coveredMass: 200 * 0.01 });
    assert.equal(mean?.status, "fail");
    assert.match(mean?.message ?? "", /the exact KLD is higher still/);
  });

  it("an exact KLD (no bound recorded) is judged on its interval alone", () => {
    const [mean] = kldReason(0.01);
    assert.equal(mean?.status, "pass");
    assert.doesNotMatch(mean?.message ?? "", /bound/);
  });
});
