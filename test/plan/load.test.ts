import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InputError } from "../../src/errors.js";
import { loadPlan } from "../../src/plan/load.js";
import { loadSuite } from "../../src/suites/load.js";
import { tempDir, writeFiles } from "../support/cli.js";
import { model } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

function expectInputError(
  fn: () => unknown,
  code: string,
  location: RegExp,
  message: RegExp,
): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    assert.equal(e.code, code);
    assert.match(e.location ?? "", location);
    assert.match(e.message, message);
    return true;
  });
}

describe("plan loading", () => {
  it("resolves defaults, the baseline and CLI overrides (CLI > file > defaults)", () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 3);
    const plan = writePlan(
      dir,
      [{ name: "fp16" }, { name: "int8", file: "stories260K-q8_0.gguf" }],
      [suite],
      "seed: 7",
    );
    const resolved = loadPlan(plan, { seed: 9, maxTokens: 5 });
    assert.equal(resolved.baseline, "fp16");
    assert.equal(resolved.plan.seed, 9);
    assert.equal(resolved.plan.generation.maxTokens, 5);
    assert.equal(resolved.plan.repeats, 1);
    assert.equal(resolved.variants[1]?.modelPath, model("stories260K-q8_0.gguf"));
    assert.equal(resolved.variants[0]?.isBaseline, true);
    assert.equal(resolved.suites[0]?.items.length, 3);
    assert.equal(loadPlan(plan).hash, loadPlan(plan).hash);
    assert.notEqual(loadPlan(plan).hash, resolved.hash);
  });

  it("names file and line of an unknown key", () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 1);
    const plan = writePlan(dir, [{ name: "a" }], [suite], "contextsize: 128");
    expectInputError(
      () => loadPlan(plan),
      "BAD_PLAN",
      /plan\.yaml:12$/,
      /unknown key "contextsize"/,
    );
  });

  it("names the field and line of a wrong type", () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 1);
    const plan = writePlan(dir, [{ name: "a", extra: "    baseline: maybe" }], [suite]);
    expectInputError(() => loadPlan(plan), "BAD_PLAN", /plan\.yaml:6$/, /variants\[0\]\.baseline/);
  });

  it("reports YAML syntax errors with line and column", () => {
    const dir = tempDir();
    writeFiles(dir, { "plan.yaml": "name: x\nvariants: [\n  - a\n" });
    expectInputError(
      () => loadPlan(join(dir, "plan.yaml")),
      "BAD_PLAN",
      /plan\.yaml:\d+:\d+$/,
      /YAML syntax error/,
    );
  });

  it("refuses a missing model before anything runs", () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 1);
    writeFiles(dir, {
      "plan.yaml": `variants:\n  - name: a\n    model: nope.gguf\nsuites: [${suite}]\n`,
    });
    expectInputError(
      () => loadPlan(join(dir, "plan.yaml")),
      "BAD_MODEL",
      /plan\.yaml:3$/,
      /model file not found/,
    );
  });

  it("refuses an unknown baseline and duplicate variant names", () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 1);
    const plan = writePlan(dir, [{ name: "a" }, { name: "a" }], [suite], "baseline: zz");
    assert.throws(
      () => loadPlan(plan),
      /duplicate variant name "a"|baseline "zz" is not a variant/,
    );
  });
});

describe("suite loading", () => {
  it("names file and line of a malformed JSONL line", () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 4);
    writeFiles(dir, {
      "cloze.jsonl":
        '{"context": "a", "answer": "b"}\n\n{"context": "a", "answer": \n{"context": "c", "answer": "d"}\n',
    });
    expectInputError(() => loadSuite(suite), "BAD_SUITE", /cloze\.jsonl:3$/, /invalid JSON/);
  });

  it("names the line of an item that lacks a field", () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 4);
    writeFiles(dir, { "cloze.jsonl": '{"context": "a", "answer": "b"}\n{"context": "a"}\n' });
    expectInputError(
      () => loadSuite(suite),
      "BAD_SUITE",
      /cloze\.jsonl:2$/,
      /lacks field "answer"/,
    );
  });

  it("names the line of a bad metric option", () => {
    const dir = tempDir();
    writeFiles(dir, {
      "s.yaml":
        'id: s\ntemplate: "{{q}}"\ntarget: a\nmetrics:\n  - exact_match: { ignore_case: yes please }\nitems:\n  - { q: x, a: y }\n',
    });
    expectInputError(
      () => loadSuite(join(dir, "s.yaml")),
      "BAD_SUITE",
      /s\.yaml:5$/,
      /ignore_case/,
    );
  });

  it("renders few-shot examples before the item's prompt", () => {
    const dir = tempDir();
    writeFiles(dir, {
      "s.yaml": [
        "id: s",
        'template: "Q: {{q}}\\nA:"',
        "target: a",
        "metrics: [{ exact_match: {} }]",
        "fewshot: [{ q: '1+1', a: ' 2' }]",
        "items: [{ q: '2+2', a: ' 4' }]",
      ].join("\n"),
    });
    const suite = loadSuite(join(dir, "s.yaml"));
    assert.equal(suite.items[0]?.prompt, "Q: 1+1\nA: 2\n\nQ: 2+2\nA:");
    assert.equal(suite.items[0]?.reference, " 4");
  });

  it("refuses a template that uses a field the item lacks, naming the item", () => {
    const dir = tempDir();
    writeFiles(dir, {
      "s.yaml":
        'id: s\ntemplate: "{{question}}"\ntarget: a\nmetrics: [{ exact_match: {} }]\nitems:\n  - { q: x, a: y }\n',
    });
    expectInputError(() => loadSuite(join(dir, "s.yaml")), "BAD_SUITE", /s\.yaml:6$/, /question/);
  });
});
