import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../src/scoring/bootstrap.js";
import type { RunFacts, VariantFacts } from "../../src/verdict/facts.js";
import { Gates } from "../../src/verdict/gates.js";
import { decide, MIN_PAIRED_ITEMS } from "../../src/verdict/policy.js";

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
    quality: new Map([["qa", new Map([["exact_match", items]])]]),
    completionTokens: new Map(),
    ttftMs: new Float64Array(),
    decodeTps: new Float64Array(),
    prefillTps: new Float64Array(),
    e2eMs: new Float64Array(),
    busyMs: 0,
    perplexity: new Map(),
  };
}

function facts(base: number[], other: number[]): RunFacts {
  return {
    runId: 1,
    planName: "t",
    planJson: "{}",
    status: "complete",
    startedAt: "",
    variants: [variant("base", true, base), variant("int4", false, other)],
  };
}

describe("verdict policy on synthetic paired scores", () => {
  it("a small suite with a small drop is inconclusive for every seed, never a flapping pass/fail", () => {
    const random = seededRandom(3);
    const base = Array.from({ length: 30 }, () => (random() < 0.6 ? 1 : 0));
    const other = [...base];
    const right = other.indexOf(1);
    other[right] = 0;
    const statuses = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const [, v] = decide(facts(base, other), Gates.parse({ seed }));
      statuses.add(v?.reasons[0]?.status ?? "none");
      assert.equal(v?.verdict, "NO-SHIP", "inconclusive blocks by default");
      const [, lenient] = decide(facts(base, other), Gates.parse({ seed, inconclusive: "ship" }));
      assert.equal(lenient?.verdict, "SHIP");
    }
    assert.deepEqual([...statuses], ["inconclusive"]);
  });

  it("a large suite with a clear drop fails, and an identical variant passes", () => {
    const random = seededRandom(9);
    const base = Array.from({ length: 3000 }, () => (random() < 0.7 ? 1 : 0));
    const worse = base.map((x) => (x === 1 && random() < 0.1 ? 0 : x));
    const [, v] = decide(facts(base, worse), Gates.parse({}));
    assert.equal(v?.reasons[0]?.status, "fail");
    assert.match(
      v?.reasons[0]?.message ?? "",
      /exact_match on qa: 9\d\.\d % of baseline .* n=3000\) vs ≥ 99\.0 %: fail; McNemar p=/,
    );
    const [, same] = decide(facts(base, base), Gates.parse({}));
    assert.equal(same?.verdict, "SHIP");
    assert.deepEqual(same?.reasons[0]?.interval, [1, 1]);
  });

  it("a failed variant, or failed items past the limit, is NO-SHIP with that reason", () => {
    const f = facts([1, 0, 1], [1, 0, 1]);
    const v = f.variants[1] as VariantFacts;
    v.failedItems = 2;
    const [, out] = decide(f, Gates.parse({ maxFailedItems: 1 }));
    assert.equal(out?.verdict, "NO-SHIP");
    assert.match(
      out?.reasons.find((r) => r.gate === "failures")?.message ?? "",
      /2 failed items, more than the 1 allowed/,
    );
    v.status = "failed";
    v.error = "runner crashed";
    const [, failed] = decide(f, Gates.parse({ maxFailedItems: 5 }));
    assert.match(failed?.reasons[0]?.message ?? "", /the variant failed: runner crashed/);
  });

  it(`fewer than ${MIN_PAIRED_ITEMS} paired items are inconclusive, never a certain-looking pass or fail`, () => {
    assert.equal(MIN_PAIRED_ITEMS, 5);
    const judged = (base: number[], other: number[]) => {
      const [, v] = decide(facts(base, other), Gates.parse({ inconclusive: "ship" }));
      return v?.reasons.find((r) => r.gate === "quality");
    };
    // n = 1: a single pair resamples to a zero-width interval that looked certain.
    const one = judged([1], [0]);
    assert.equal(one?.status, "inconclusive");
    assert.equal(one?.interval, undefined, "no interval from one pair");
    assert.match(
      one?.message ?? "",
      /n=1\) — too few paired items for an interval \(at least 5\): inconclusive/,
    );
    assert.doesNotMatch(one?.message ?? "", /CI/);
    assert.equal(judged([1, 1, 1, 1], [0, 0, 0, 0])?.status, "inconclusive");
    assert.equal(judged([1, 0, 1, 1], [1, 0, 1, 1])?.status, "inconclusive");
    // n = 5: judged on its interval again, both ways.
    assert.equal(judged([1, 1, 1, 1, 1], [0, 0, 0, 0, 0])?.status, "fail");
    assert.equal(judged([1, 0, 1, 1, 1], [1, 0, 1, 1, 1])?.status, "pass");
  });

  it("a baseline that scores 0 is no evidence: inconclusive with no ratio, never a pass", () => {
    for (const other of [
      [0, 0, 0, 0, 0, 0],
      [1, 0, 0, 1, 0, 0],
    ]) {
      const [, v] = decide(facts([0, 0, 0, 0, 0, 0], other), Gates.parse({}));
      const q = v?.reasons.find((r) => r.gate === "quality");
      assert.equal(q?.status, "inconclusive");
      assert.equal(q?.value, null, "a score is not a ratio");
      assert.equal(q?.interval, undefined);
      assert.match(q?.message ?? "", /the baseline scores 0 on all 6 items/);
      assert.doesNotMatch(q?.message ?? "", /any score/);
      assert.equal(v?.verdict, "NO-SHIP", "inconclusive blocks by default");
    }
    const [, both] = decide(facts([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]), Gates.parse({}));
    assert.match(
      both?.reasons[0]?.message ?? "",
      /scores 0 on all 5 items, and so does the variant — no evidence either way: inconclusive/,
    );
  });
});
