import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileJinja, jinjaMessage } from "../../../src/suites/lm-eval/jinja.js";
import { literalEval, pyRepr } from "../../../src/suites/lm-eval/python-literal.js";

const render = (template: string, doc: Record<string, unknown>) => compileJinja(template)(doc);

describe("lm-eval's Jinja templates through nunjucks, as Jinja2 renders them over Python values", () => {
  it("renders the templates of real task files (lambada, arc, openbookqa, piqa, mmlu) as Jinja2 does", () => {
    const lambada = { text: "the cat sat on the mat" };
    assert.equal(render("{{text.split(' ')[:-1]|join(' ')}}", lambada), "the cat sat on the");
    assert.equal(render("{{' '+text.split(' ')[-1]}}", lambada), " mat");
    const arc = { choices: { text: ["x", "y", "z"], label: ["A", "B", "C"] }, answerKey: "C" };
    assert.equal(render("{{choices.label.index(answerKey)}}", arc), "2");
    assert.equal(render("{{choices.text}}", arc), "['x', 'y', 'z']");
    assert.equal(
      render("{{choices.label.index(answerKey.lstrip())}}", { ...arc, answerKey: " B" }),
      "1",
    );
    assert.equal(
      render("{{[sol1, sol2]}}", { sol1: "it's", sol2: 'say "hi"' }),
      `["it's", 'say "hi"']`,
    );
    const mmlu = "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nAnswer:";
    assert.equal(
      render(mmlu, { question: "  Why?\n", choices: ["a", "b"] }),
      "Why?\nA. a\nB. b\nAnswer:",
    );
  });

  it("gives str methods Python's semantics (split without a separator, maxsplit, strip chars, replace count)", () => {
    assert.equal(render("{{ t.split() }}", { t: "  a \n b  " }), "['a', 'b']");
    assert.equal(render("{{ t.split(',', 1) }}", { t: "a,b,c" }), "['a', 'b,c']");
    assert.equal(render("{{ t.strip('x.') }}", { t: "x.ab.x" }), "ab");
    assert.equal(render("{{ t.rstrip() }}|", { t: "ab \n" }), "ab|");
    assert.equal(render("{{ t.replace('a', 'o') }}", { t: "banana" }), "bonono");
    assert.equal(render("{{ t.replace('a', 'o', 1) }}", { t: "banana" }), "bonana");
    assert.equal(render("{{ t.startswith(('x', 'b')) }}", { t: "banana" }), "True");
    assert.equal(render("{{ t.capitalize() }}", { t: "hELLO" }), "Hello");
    assert.equal(render("{{ ', '.join(xs) }}", { xs: ["a", "b"] }), "a, b");
    assert.equal(render("{{ t[-1] }}{{ xs[-2] }}", { t: "abc", xs: [1, 2, 3] }), "c2");
    assert.equal(render("{{ xs[1:] }}", { xs: [1, 2, 3] }), "[2, 3]");
  });

  it("prints values as Python's str(): True/False/None, lists and dicts in repr, floats, and | string", () => {
    assert.equal(
      render("{{ a }} {{ b }} {{ xs }}", { a: true, b: false, xs: [1, "a", null] }),
      "True False [1, 'a', None]",
    );
    assert.equal(render("{{ d }}", { d: { k: [1] } }), "{'k': [1]}");
    assert.equal(render("{{ xs | string }}", { xs: ["a"] }), "['a']");
    assert.equal(render("{{ xs | length }}", { xs: ["a", "b"] }), "2");
    assert.equal(render("{{ t | regex_replace('[0-9]+', '#') }}", { t: "a1b22" }), "a#b#");
    // keep_trailing_newline=True, as lm-eval's Environment.
    assert.equal(render("{{ t }}\n", { t: "x" }), "x\n");
  });

  it("fails on a field the doc lacks (StrictUndefined), and names the template's line", () => {
    assert.throws(
      () => render("ok\n{{ missing }}", {}),
      (error: unknown) => /a value the doc lacks .*template line 2/.test(jinjaMessage(error)),
    );
    assert.throws(
      () => compileJinja("{{ unclosed"),
      (error: unknown) => /expected variable end/.test(jinjaMessage(error)),
    );
  });
});

describe("ast.literal_eval and repr", () => {
  it("reads back what repr prints, quotes and escapes included", () => {
    for (const value of [
      ["a", "it's", 'q"', "back\\slash", "tab\tnew\nline"],
      [1, 2.5, -3],
      [true, false, null],
      { k: ["v"] },
    ]) {
      assert.deepEqual(literalEval(pyRepr(value)), value);
    }
    assert.deepEqual(literalEval("('a', \"b\",)"), ["a", "b"]);
    assert.deepEqual(literalEval("'\\x41\\u00e9'"), "Aé");
  });

  it("refuses what is not a literal, saying where", () => {
    assert.throws(() => literalEval("[a, b]"), /expected a literal at character 2/);
    assert.throws(() => literalEval("['a'"), /expected "," or "]"/);
    assert.throws(() => literalEval("'a' 'b'"), /expected the end/);
  });
});
