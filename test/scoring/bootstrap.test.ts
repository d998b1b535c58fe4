import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mcnemarExact, pairedBootstrap, seededRandom } from "../../src/scoring/bootstrap.js";

/** Normal deviates by Box-Muller from the seeded generator. */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

describe("paired bootstrap", () => {
  it("covers a known difference about 95 % of the time (simulation, 400 paired samples of n = 60)", () => {
    const random = seededRandom(2024);
    const trueDifference = 0.3;
    let covered = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const base: number[] = [];
      const variant: number[] = [];
      for (let i = 0; i < 60; i++) {
        const itemEffect = normal(random) * 2;
        base.push(itemEffect + normal(random));
        variant.push(itemEffect + trueDifference + normal(random));
      }
      const cmp = pairedBootstrap(base, variant, { resamples: 1000, seed: t + 1 });
      if (cmp.difference.low <= trueDifference && trueDifference <= cmp.difference.high) covered++;
    }
    const coverage = covered / trials;
    console.log(
      `bootstrap coverage: ${(coverage * 100).toFixed(1)} % of ${trials} intervals (nominal 95 %)`,
    );
    // Binomial sd at p = 0.95 over 400 trials is 1.1 points; the percentile bootstrap runs a little narrow at n = 60.
    assert.ok(coverage > 0.91 && coverage < 0.98, `coverage ${coverage}`);
  });

  it("covers a known ratio of binary means (exact-match-like data, n = 200)", () => {
    const random = seededRandom(7);
    let covered = 0;
    const trials = 200;
    const pBase = 0.6;
    const pVariant = 0.54;
    for (let t = 0; t < trials; t++) {
      const base: number[] = [];
      const variant: number[] = [];
      for (let i = 0; i < 200; i++) {
        const u = random();
        base.push(u < pBase ? 1 : 0);
        variant.push(u < pVariant ? 1 : 0);
      }
      const ratio = pairedBootstrap(base, variant, { resamples: 1000, seed: t }).ratio;
      assert.ok(ratio);
      if (ratio.low <= pVariant / pBase && pVariant / pBase <= ratio.high) covered++;
    }
    console.log(
      `bootstrap ratio coverage: ${((covered / trials) * 100).toFixed(1)} % of ${trials}`,
    );
    assert.ok(covered / trials > 0.9);
  });

  it("switches to the normal approximation above bootstrapMaxN, with the same coverage (200 samples of n = 3000)", () => {
    const random = seededRandom(11);
    let coveredDiff = 0;
    let coveredRatio = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const base: number[] = [];
      const variant: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const u = random();
        base.push(u < 0.6 ? 1 : 0);
        variant.push(u < 0.57 ? 1 : 0);
      }
      const cmp = pairedBootstrap(base, variant);
      assert.equal(cmp.method, "normal");
      if (cmp.difference.low <= -0.03 && -0.03 <= cmp.difference.high) coveredDiff++;
      if (cmp.ratio && cmp.ratio.low <= 0.95 && 0.95 <= cmp.ratio.high) coveredRatio++;
    }
    console.log(
      `normal-approximation coverage: difference ${((coveredDiff / trials) * 100).toFixed(1)} %, ratio ${((coveredRatio / trials) * 100).toFixed(1)} % of ${trials}`,
    );
    assert.ok(coveredDiff / trials > 0.91 && coveredRatio / trials > 0.91);
  });

  it("is deterministic for a seed and exact for identical samples", () => {
    const a = [1, 0, 1, 1, 0, 1];
    const b = [1, 1, 0, 1, 0, 0];
    assert.deepEqual(pairedBootstrap(a, b, { seed: 5 }), pairedBootstrap(a, b, { seed: 5 }));
    const same = pairedBootstrap(a, a);
    assert.deepEqual(same.difference, { estimate: 0, low: 0, high: 0 });
    assert.deepEqual(same.ratio, { estimate: 1, low: 1, high: 1 });
  });

  it("has no ratio when the baseline scores 0, and refuses unpaired data", () => {
    assert.equal(pairedBootstrap([0, 0, 0], [1, 0, 1]).ratio, undefined);
    assert.throws(() => pairedBootstrap([1, 2], [1]), /paired samples differ/);
  });
});

describe("McNemar's exact test", () => {
  it("matches hand-computed binomial tails", () => {
    // 10 discordant pairs split 8/2: p = 2 * P(X ≤ 2 | n = 10, 1/2) = 2 * 56/1024.
    const base = [...Array(8).fill(1), ...Array(2).fill(0), 1, 1, 0];
    const variant = [...Array(8).fill(0), ...Array(2).fill(1), 1, 1, 0];
    const m = mcnemarExact(base, variant);
    assert.equal(m.baselineOnly, 8);
    assert.equal(m.variantOnly, 2);
    assert.ok(Math.abs(m.pValue - 112 / 1024) < 1e-12);
    assert.equal(mcnemarExact([1, 0], [1, 0]).pValue, 1);
    assert.equal(mcnemarExact([1, 0, 1], [0, 1, 1]).pValue, 1);
  });
});

/** The generator and resampling loop as first written (over the caller's arrays): the reference. */
function referenceRandom(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** As pairedBootstrap computes it, last bits included. */
const ALPHA = (1 - 0.95) / 2;

function referenceDifferences(base: number[], variant: number[], resamples: number, seed: number) {
  const random = referenceRandom(seed);
  const n = base.length;
  const diffs = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let b = 0;
    let v = 0;
    for (let k = 0; k < n; k++) {
      const i = Math.floor(random() * n);
      b += base[i] as number;
      v += variant[i] as number;
    }
    diffs[r] = (v - b) / n;
  }
  return diffs.sort();
}

describe("the seeded generator and the bootstrap's typed-array loop", () => {
  it("draws exactly what the reference sfc32 draws, for any seed", () => {
    for (const seed of [0, 1, 7, 2024, 0xffffffff, -5]) {
      const ours = seededRandom(seed);
      const reference = referenceRandom(seed);
      for (let i = 0; i < 10_000; i++) assert.equal(ours(), reference(), `seed ${seed} draw ${i}`);
    }
  });

  it("gives the paired bootstrap the very intervals the loop over the caller's arrays gave", () => {
    const random = seededRandom(3);
    for (const n of [1, 5, 60, 1999]) {
      const base = Array.from({ length: n }, () => Math.round(random()));
      const variant = base.map((b) => (random() < 0.1 ? 1 - b : b));
      for (const seed of [1, 99]) {
        const got = pairedBootstrap(base, variant, { resamples: 500, seed });
        const diffs = referenceDifferences(base, variant, 500, seed);
        const q = (p: number) => {
          const at = p * (diffs.length - 1);
          const i = Math.floor(at);
          const w = at - i;
          return (
            (1 - w) * (diffs[i] as number) +
            w * (diffs[Math.min(i + 1, diffs.length - 1)] as number)
          );
        };
        assert.equal(got.difference.low, q(ALPHA), `n=${n} seed=${seed}`);
        assert.equal(got.difference.high, q(1 - ALPHA), `n=${n} seed=${seed}`);
      }
    }
  });
});
