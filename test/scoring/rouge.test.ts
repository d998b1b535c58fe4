import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { porterStem } from "../../src/scoring/porter.js";
import {
  type RougeScore,
  type RougeType,
  scoreRouge,
  tokenizeRouge,
} from "../../src/scoring/rouge.js";

type Triple = [precision: number, recall: number, fmeasure: number];
type ScoreSet = Record<string, Triple>;

interface Fixture {
  meta: { types: RougeType[] };
  stems: [word: string, stem: string][];
  tokenize: { text: string; plain: string[]; stemmed: string[] }[];
  cases: {
    id: number;
    kind: string;
    prediction: string;
    reference: string;
    scores: { plain: ScoreSet; stemmed: ScoreSet };
  }[];
}

const fixture = JSON.parse(
  readFileSync(new URL("../../../test/fixtures/rouge/cases.json", import.meta.url), "utf8"),
) as Fixture;

const TOLERANCE = 1e-9;

describe("rouge vs rouge-score fixtures", () => {
  it("matches every case, with and without stemming", () => {
    const types = fixture.meta.types;
    let worst = 0;
    let compared = 0;
    const failures: string[] = [];
    for (const c of fixture.cases) {
      for (const [setting, stem] of [
        ["plain", false],
        ["stemmed", true],
      ] as const) {
        const got = scoreRouge(c.prediction, c.reference, { types, stem });
        for (const type of types) {
          const want = c.scores[setting][type];
          const have: RougeScore | undefined = got[type];
          assert.ok(want && have, `case ${c.id} ${setting} ${type}: missing score`);
          const pairs: [string, number, number][] = [
            ["precision", have.precision, want[0]],
            ["recall", have.recall, want[1]],
            ["f1", have.f1, want[2]],
          ];
          for (const [field, h, w] of pairs) {
            const err = Math.abs(h - w);
            compared++;
            if (!(err <= TOLERANCE)) {
              failures.push(`case ${c.id} (${c.kind}) ${setting} ${type}.${field}: ${h} vs ${w}`);
            }
            if (err > worst || Number.isNaN(err)) worst = Number.isNaN(err) ? Infinity : err;
          }
        }
      }
    }
    console.log(
      `rouge: ${fixture.cases.length} cases, ${compared} values, worst abs error ${worst}`,
    );
    assert.deepEqual(failures.slice(0, 20), []);
  });

  it("tokenizes like rouge-score", () => {
    for (const t of fixture.tokenize) {
      assert.deepEqual(tokenizeRouge(t.text, false), t.plain, JSON.stringify(t.text));
      assert.deepEqual(tokenizeRouge(t.text, true), t.stemmed, JSON.stringify(t.text));
    }
  });

  it("stems like NLTK's PorterStemmer (NLTK_EXTENSIONS)", () => {
    const wrong = fixture.stems.filter(([word, stem]) => porterStem(word) !== stem);
    assert.deepEqual(
      wrong.slice(0, 20).map(([word, stem]) => `${word}: ${porterStem(word)} != ${stem}`),
      [],
    );
  });
});

describe("porterStem", () => {
  // Captured from nltk 3.10.3: PorterStemmer().stem(word).
  const known: [string, string][] = [
    ["generously", "gener"],
    ["agreed", "agre"],
    ["feed", "feed"],
    ["sky", "sky"],
    ["skies", "sky"],
    ["dying", "die"],
    ["happily", "happili"],
    ["conditional", "condit"],
    ["relational", "relat"],
    ["hopping", "hop"],
    ["caresses", "caress"],
    ["ponies", "poni"],
    ["ties", "tie"],
    ["cats", "cat"],
    ["falling", "fall"],
    ["controlling", "control"],
    ["news", "news"],
    ["innings", "inning"],
    ["proceed", "proceed"],
    ["fully", "fulli"],
    ["apology", "apolog"],
    ["yyyy", "yyyi"],
    ["played", "play"],
    ["spies", "spi"],
    ["dies", "die"],
  ];
  for (const [word, stem] of known) {
    it(`${word} -> ${stem}`, () => assert.equal(porterStem(word), stem));
  }
});

describe("scoreRouge edge cases", () => {
  const zero = { precision: 0, recall: 0, f1: 0 };

  it("gives 0, not NaN, for empty or token-free inputs", () => {
    for (const [pred, ref] of [
      ["", ""],
      ["", "some words"],
      ["some words", "   \n\t "],
      ["😀 東京 ...", "text"],
    ] as const) {
      for (const stem of [false, true]) {
        const s = scoreRouge(pred, ref, { stem });
        assert.deepEqual(s, { rouge1: zero, rouge2: zero, rougeL: zero, rougeLsum: zero });
      }
    }
  });

  it("measures precision against the prediction", () => {
    const s = scoreRouge("the cat", "the cat sat on the mat", { types: ["rouge1"] });
    assert.deepEqual(s.rouge1, {
      precision: 1,
      recall: 2 / 6,
      f1: (2 * 1 * (2 / 6)) / (1 + 2 / 6),
    });
  });

  it("supports rougeN up to 9 and rejects unknown types", () => {
    const s = scoreRouge("a b c d e f g h i", "a b c d e f g h i", { types: ["rouge9"] });
    assert.deepEqual(s.rouge9, { precision: 1, recall: 1, f1: 1 });
    assert.throws(() => scoreRouge("a", "a", { types: ["rouge0" as RougeType] }), RangeError);
  });
});
