import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../src/scoring/bootstrap.js";
import { summarizeKld } from "../../src/scoring/kld.js";
import { quantile } from "../../src/scoring/quantile.js";
import { valuesAtRanks } from "../../src/scoring/select.js";

/** summarizeKld as it was, by a full sort: the selection must give the very same numbers. */
function summarizeBySort(kld: Float32Array) {
  const n = kld.length;
  const sorted = Float64Array.from(kld).sort();
  const median =
    n % 2 === 0
      ? 0.5 * ((sorted[n / 2] ?? 0) + (sorted[n / 2 - 1] ?? 0))
      : (sorted[(n - 1) / 2] ?? 0);
  return {
    medianKld: n > 0 ? median : Number.NaN,
    p90Kld: quantile(sorted, 0.9),
    p95Kld: quantile(sorted, 0.95),
    p99Kld: quantile(sorted, 0.99),
    maxKld: n > 0 ? (sorted[n - 1] as number) : Number.NaN,
  };
}

describe("valuesAtRanks", () => {
  it("gives what a sort gives at every rank asked, for random, tied, sorted and reversed input", () => {
    const random = seededRandom(11);
    const shapes: Array<[string, (n: number) => Float64Array]> = [
      ["random", (n) => Float64Array.from({ length: n }, () => random() ** 3)],
      ["few distinct", (n) => Float64Array.from({ length: n }, () => Math.floor(random() * 3))],
      ["all equal", (n) => new Float64Array(n).fill(0.25)],
      ["sorted", (n) => Float64Array.from({ length: n }, (_, i) => i)],
      ["reversed", (n) => Float64Array.from({ length: n }, (_, i) => n - i)],
      [
        "with NaN",
        (n) => Float64Array.from({ length: n }, (_, i) => (i % 7 === 3 ? Number.NaN : random())),
      ],
    ];
    for (const [shape, make] of shapes) {
      for (const n of [1, 2, 3, 10, 101, 5000]) {
        const values = make(n);
        const sorted = values.slice().sort();
        const ranks = [0, n - 1, Math.floor(n / 2), Math.floor(0.99 * (n - 1)), 7 % n, n - 2];
        const got = valuesAtRanks(values.slice(), ranks);
        for (const k of ranks.filter((k) => k >= 0 && k < n))
          assert.ok(Object.is(got.get(k), sorted[k]), `${shape} n=${n} rank ${k}`);
      }
    }
  });
});

describe("summarizeKld", () => {
  it("reports the same median, percentiles and maximum as sorting every value", () => {
    const random = seededRandom(5);
    for (const n of [0, 1, 2, 3, 4, 11, 1000, 100_001]) {
      const kld = Float32Array.from({ length: n }, () => -Math.log(random() + 1e-9) * 1e-3);
      const same = new Uint8Array(n).fill(1);
      const got = summarizeKld(kld, same);
      const want = summarizeBySort(kld);
      for (const key of Object.keys(want) as Array<keyof typeof want>)
        assert.ok(Object.is(got[key], want[key]), `n=${n} ${key}: ${got[key]} vs ${want[key]}`);
    }
  });
});
