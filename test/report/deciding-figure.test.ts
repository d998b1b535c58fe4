import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decidingFigure } from "../../src/report/deciding-figure.js";
import type { Reason } from "../../src/verdict/policy.js";

const reason = (r: Partial<Reason> & Pick<Reason, "gate" | "status">): Reason => ({
  metric: "exact_match",
  suite: "qa",
  blocking: r.status === "fail",
  value: 1,
  threshold: 0.99,
  n: 100,
  message: "",
  ...r,
});

describe("the verdict table's deciding figure", () => {
  it("a NO-SHIP variant shows the finding that blocks, not a passing figure in green", () => {
    // The demo's int4: ROUGE inconclusive (blocks), perplexity +0.6 % but passing.
    const figure = decidingFigure(
      [
        reason({
          gate: "quality",
          metric: "rouge1_f1",
          suite: "stories",
          status: "inconclusive",
          blocking: true,
          value: 0.998,
          interval: [0.98, 1.014],
        }),
        reason({
          gate: "perplexity",
          metric: "ppl_ratio",
          suite: "ppl",
          status: "pass",
          value: 1.0058,
          interval: [1.0026, 1.0089],
          threshold: 1.05,
        }),
      ],
      "95 %",
    );
    assert.deepEqual(figure, {
      what: "rouge1_f1 on stories",
      figure: "−0.2 % vs baseline",
      interval: "95 % CI [−2.0 %, +1.4 %]",
      outcome: "inconclusive, blocks",
      status: "inconclusive",
    });
  });

  it("a failing quality finding: its signed change, interval and 'blocks', coloured as a failure", () => {
    const figure = decidingFigure(
      [
        reason({ gate: "quality", status: "fail", value: 0.88, interval: [0.82, 0.94] }),
        reason({ gate: "kld", metric: "mean_kld", status: "fail", value: 0.107, threshold: 0.05 }),
      ],
      "95 %",
    );
    assert.equal(
      `${figure?.what}: ${figure?.figure} ${figure?.interval} — ${figure?.outcome}`,
      "exact_match on qa: −12.0 % vs baseline 95 % CI [−18.0 %, −6.0 %] — blocks",
    );
    assert.equal(figure?.status, "fail");
  });

  it("identical scores read as no change, a zero baseline and too few pairs say why there is no ratio", () => {
    const same = decidingFigure(
      [reason({ gate: "quality", status: "pass", value: 1, interval: [1, 1] })],
      "95 %",
    );
    assert.equal(same?.figure, "no change (identical on every item)");
    assert.equal(same?.interval, null);
    assert.equal(same?.outcome, "passes");
    const zero = decidingFigure(
      [reason({ gate: "quality", status: "inconclusive", blocking: true, value: null })],
      "95 %",
    );
    assert.equal(zero?.figure, "no ratio: the baseline scores 0 (no evidence)");
    assert.doesNotMatch(JSON.stringify(zero), /100\.0 %/);
    const one = decidingFigure(
      [reason({ gate: "quality", status: "inconclusive", blocking: true, value: 0, n: 1 })],
      "95 %",
    );
    assert.equal(one?.figure, "−100.0 % vs baseline");
    assert.equal(one?.interval, "n=1: too few pairs for an interval");
  });

  it("other gates that block show their own figure and limit", () => {
    const kld = decidingFigure(
      [
        reason({
          gate: "kld",
          metric: "mean_kld",
          suite: "ppl",
          status: "fail",
          value: 0.107249,
          threshold: 0.05,
          interval: [0.0951, 0.1194],
        }),
      ],
      "95 %",
    );
    assert.equal(kld?.what, "mean KLD on ppl");
    assert.equal(kld?.figure, "0.107 (limit ≤ 0.0500)");
    assert.equal(kld?.interval, "95 % CI [0.0951, 0.119]");
    const items = decidingFigure(
      [
        reason({
          gate: "failures",
          metric: "failed_items",
          status: "fail",
          value: 3,
          threshold: 0,
        }),
      ],
      "95 %",
    );
    assert.equal(items?.figure, "3 failed items (0 allowed)");
  });
});
