// Agreement of src/scoring/rouge.ts with Google's rouge-score on the committed fixture.
// Run: npx tsc -p tsconfig.json && node dist/bench/rouge-agreement.js
import { readFileSync } from "node:fs";
import { type RougeType, scoreRouge } from "../src/scoring/rouge.js";

interface Fixture {
  meta: { types: RougeType[] };
  cases: {
    prediction: string;
    reference: string;
    scores: Record<"plain" | "stemmed", Record<string, [number, number, number]>>;
  }[];
}

const fixture = JSON.parse(
  readFileSync(new URL("../../test/fixtures/rouge/cases.json", import.meta.url), "utf8"),
) as Fixture;

let worst = 0;
const start = performance.now();
for (const c of fixture.cases) {
  for (const [setting, stem] of [
    ["plain", false],
    ["stemmed", true],
  ] as const) {
    const got = scoreRouge(c.prediction, c.reference, { types: fixture.meta.types, stem });
    for (const type of fixture.meta.types) {
      const want = c.scores[setting][type] ?? [Number.NaN, Number.NaN, Number.NaN];
      const have = got[type];
      for (const [h, w] of [
        [have.precision, want[0]],
        [have.recall, want[1]],
        [have.f1, want[2]],
      ] as const) {
        const err = Math.abs(h - w);
        worst = Number.isNaN(err) ? Number.POSITIVE_INFINITY : Math.max(worst, err);
      }
    }
  }
}
const ms = performance.now() - start;
console.log(
  `rouge agreement: ${fixture.cases.length} cases x 2 stem settings x ${fixture.meta.types.length} types, worst abs error ${worst}, ${ms.toFixed(1)} ms`,
);
