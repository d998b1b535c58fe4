import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { distribution, generationTimings } from "../../src/measure/timing.js";

describe("timing statistics", () => {
  it("gives n, mean and interpolated percentiles, ignoring missing values", () => {
    const d = distribution([10, null, 20, 30, 40, undefined, Number.NaN]);
    assert.ok(d);
    const rounded = Object.fromEntries(
      Object.entries(d).map(([k, v]) => [k, Math.round(v * 1e9) / 1e9]),
    );
    assert.deepEqual(rounded, { n: 4, mean: 25, p50: 25, p90: 37, p99: 39.7, min: 10, max: 40 });
    assert.equal(distribution([]), undefined);
  });

  it("applies the DESIGN.md definitions of decode and prefill TPS and the harness overhead", () => {
    const t = generationTimings([
      {
        prompt_tokens: 100,
        completion_tokens: 11,
        ttft_ms: 60,
        tokenize_ms: 10,
        decode_ms: 200,
        total_ms: 265,
        ipc_ms: 270,
      },
    ]);
    assert.equal(t.decodeTps?.p50, 50);
    assert.equal(t.prefillTps?.p50, 2000);
    assert.equal(t.overheadMs?.p50, 5);
    assert.equal(t.ttftMs?.p50, 60);
  });
});
