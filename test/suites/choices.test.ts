import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadSuite } from "../../src/suites/load.js";
import { tempDir, writeFiles } from "../support/cli.js";

function load(suite: string): ReturnType<typeof loadSuite> {
  const dir = tempDir();
  writeFiles(dir, { "suite.yaml": suite });
  return loadSuite(join(dir, "suite.yaml"));
}

const header = (metric: string, items: string) =>
  `id: mc\ntemplate: "{{q}}"\nmetrics:\n  - multiple_choice: ${metric}\nitems:\n${items}`;

describe("multiple_choice suites load choices and gold as the metric says", () => {
  it("choices from a field, gold as an index or as a choice's text", () => {
    const suite = load(
      header(
        "{ choices: opts, gold: g }",
        '  - { q: "2+2=", opts: ["3", "4"], g: 1 }\n  - { q: "1+1=", opts: ["2", "5"], g: "2" }\n',
      ),
    );
    assert.deepEqual(suite.items[0]?.choices, { texts: ["3", "4"], gold: 1 });
    assert.deepEqual(suite.items[1]?.choices, { texts: ["2", "5"], gold: 0 });
    assert.equal(suite.items[1]?.reference, "2");
    assert.equal(suite.items[0]?.prompt, "2+2=");
  });

  it("choices as templates, literal or from fields; the WinoGrande blank", () => {
    const suite = load(
      header(
        '{ choices: ["{{a}}", "{{b}}"], gold: g, blank: _ }',
        '  - { q: "_ won.", a: Tom, b: Sue, g: 0 }\n',
      ),
    );
    assert.deepEqual(suite.items[0]?.choices, { texts: ["Tom", "Sue"], gold: 0 });
    const yesNo = load(
      header('{ choices: ["no", "yes"], gold: g }', '  - { q: "Is it?", g: "yes" }\n'),
    );
    assert.deepEqual(yesNo.items[0]?.choices, { texts: ["no", "yes"], gold: 1 });
  });

  for (const [what, metric, items, error] of [
    [
      "a gold index out of range",
      "{ choices: o, gold: g }",
      '  - { q: x, o: ["a", "b"], g: 2 }\n',
      /suite\.yaml:6: gold "g" = 2 is not a choice index \(0 to 1\)/,
    ],
    [
      "a gold text not among the choices",
      "{ choices: o, gold: g }",
      '  - { q: x, o: ["a", "b"], g: c }\n',
      /suite\.yaml:6: gold "g" = "c" is not one of the choices/,
    ],
    [
      "a choices field that is no list",
      "{ choices: o, gold: g }",
      "  - { q: x, o: a, g: 0 }\n",
      /suite\.yaml:6: field "o" must be a list of at least 2 choices/,
    ],
    [
      "an empty choice",
      "{ choices: o, gold: g }",
      '  - { q: x, o: ["a", ""], g: 0 }\n',
      /suite\.yaml:6: choice 1 is empty/,
    ],
    [
      "a context without its blank",
      '{ choices: ["a", "b"], gold: g, blank: _ }',
      "  - { q: x, g: 0 }\n",
      /suite\.yaml:6: the context has no blank "_"/,
    ],
    [
      "an unknown scoring",
      "{ choices: o, gold: g, scoring: hf }",
      '  - { q: x, o: ["a", "b"], g: 0 }\n',
      /suite\.yaml:4: metrics\[0\]\.multiple_choice\.scoring/,
    ],
  ] as const) {
    it(`refuses ${what}, naming file and line`, () => {
      assert.throws(() => load(header(metric, items)), error);
    });
  }

  it("refuses another metric beside multiple_choice", () => {
    const suite = `id: mc\ntemplate: "{{q}}"\ntarget: a\nmetrics:\n  - multiple_choice: { choices: o, gold: g }\n  - exact_match: {}\nitems:\n  - { q: x, a: y, o: ["a", "b"], g: 0 }\n`;
    assert.throws(
      () => load(suite),
      /suite\.yaml:5: a multiple_choice suite takes no other metrics/,
    );
  });
});
