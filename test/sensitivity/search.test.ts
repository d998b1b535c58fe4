import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mulberry32 } from "../../lib/random/mulberry32.js";
import { type GroupChoices, searchMix } from "../../src/sensitivity/search.js";

const group = (name: string, options: [number, number][]): GroupChoices => ({
  name,
  options: options.map(([bytes, kld], type) => ({ type, bytes, kld })),
});

/** The true optimum by trying every combination. */
function bruteForce(groups: GroupChoices[], budget: number): number {
  let best = Number.POSITIVE_INFINITY;
  const walk = (g: number, bytes: number, kld: number) => {
    if (bytes > budget) return;
    if (g === groups.length) {
      best = Math.min(best, kld);
      return;
    }
    for (const o of groups[g]?.options ?? []) walk(g + 1, bytes + o.bytes, kld + o.kld);
  };
  walk(0, 0, 0);
  return best;
}

describe("searchMix: the least summed KLD within a byte budget", () => {
  it("finds the optimum where greedy upgrades by KLD saved per byte stop short", () => {
    // Greedy takes B's cheap big saving first, then A's small step, and ends at 9; the best is 5.
    const groups = [
      group("A", [
        [10, 10],
        [20, 9],
        [30, 0],
      ]),
      group("B", [
        [10, 5],
        [20, 0],
      ]),
    ];
    const s = searchMix(groups, 40);
    assert.deepEqual(s.chosen, [2, 0]);
    assert.equal(s.estimatedKld, 5);
    assert.equal(s.bytes, 40);
  });

  it("matches brute force on random instances and never exceeds the budget", () => {
    const next = mulberry32(19);
    const random = () => next() / 2 ** 32;
    for (let trial = 0; trial < 200; trial++) {
      const groups = Array.from({ length: 2 + Math.floor(random() * 5) }, (_, g) => {
        const base = 100 + Math.floor(random() * 900);
        let kld = random();
        return group(
          `g${g}`,
          [1, 1.25, 1.5, 2].map((f) => {
            kld *= random();
            return [Math.round(base * f), kld];
          }),
        );
      });
      const least = groups.reduce((sum, g) => sum + (g.options[0]?.bytes ?? 0), 0);
      const most = groups.reduce((sum, g) => sum + (g.options[3]?.bytes ?? 0), 0);
      const budget = least + Math.floor(random() * (most - least));
      const s = searchMix(groups, budget);
      assert.ok(s.bytes <= budget, `trial ${trial}: ${s.bytes} > ${budget}`);
      const best = bruteForce(groups, budget);
      assert.ok(
        Math.abs(s.estimatedKld - best) <= 1e-12 * best,
        `trial ${trial}: ${s.estimatedKld} vs ${best}`,
      );
    }
  });

  it("on bytes too many for exact units, rounds up: within the budget, near the optimum", () => {
    const groups = [0, 1, 2, 3].map((g) =>
      group(`g${g}`, [
        [1_000_003 + g * 7919, 1 + g],
        [1_500_011 + g * 104_729, 0.1 + g / 10],
        [2_000_029 + g * 1_299_709, 0],
      ]),
    );
    const budget = 6_700_001;
    const s = searchMix(groups, budget);
    assert.equal(s.exact, false);
    assert.ok(s.bytes <= budget);
    assert.ok(s.estimatedKld <= bruteForce(groups, budget) + 0.1, `${s.estimatedKld}`);
  });

  it("refuses a budget below every group at its smallest type, naming the bytes", () => {
    assert.throws(
      () => searchMix([group("A", [[10, 1]]), group("B", [[10, 1]])], 19),
      /19 bytes .* \(20 bytes/,
    );
  });
});
