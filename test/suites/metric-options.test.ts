import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InputError } from "../../src/errors.js";
import { loadSuite } from "../../src/suites/load.js";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { writePlan } from "../support/plans.js";

const suiteWith = (metric: string) =>
  `id: s\ntemplate: "{{q}}"\ntarget: a\nmetrics:\n  - ${metric}\nitems:\n  - { q: x, a: y }\n`;

describe("metric options are checked when the suite loads", () => {
  it("an invalid regex exits 2 naming suite line and option, before anything runs", async () => {
    const dir = tempDir();
    writeFiles(dir, { "suite.yaml": suiteWith('exact_match: { regex: "([a-z" }') });
    const db = join(dir, "run.db");
    const out = await qbench(["run", writePlan(dir, [{ name: "a" }], ["suite.yaml"]), "--db", db]);
    assert.equal(out.exitCode, 2, out.stderr);
    assert.match(out.stderr, /suite\.yaml:5: metrics\[0\]\.exact_match\.regex: .*\(\[a-z/);
    assert.equal(existsSync(db), false);
  });

  for (const [metric, option] of [
    ["perplexity: { field: '' }", "metrics[0].perplexity.field"],
    ["perplexity: { file: '' }", "metrics[0].perplexity.file"],
    ["perplexity: { field: t, ctx: 4 }", "metrics[0].perplexity.ctx"],
    ["rouge: { types: [rouge3] }", "metrics[0].rouge.types[0]"],
    ["exact_match: { normalize: nfc }", "metrics[0].exact_match.normalize"],
  ] as const) {
    it(`refuses ${metric}`, () => {
      const dir = tempDir();
      writeFiles(dir, { "s.yaml": suiteWith(metric) });
      assert.throws(
        () => loadSuite(join(dir, "s.yaml")),
        (e) =>
          e instanceof InputError &&
          e.code === "BAD_SUITE" &&
          /s\.yaml:5$/.test(e.location ?? "") &&
          e.message.includes(`${option}:`),
      );
    });
  }

  it("a template field the item lacks is named with the item's own fields", () => {
    const dir = tempDir();
    writeFiles(dir, {
      "s.yaml": suiteWith("exact_match: {}").replace("{ q: x, a: y }", "{ z: x, a: y }"),
    });
    assert.throws(
      () => loadSuite(join(dir, "s.yaml")),
      (e) =>
        e instanceof InputError &&
        e.code === "BAD_SUITE" &&
        /s\.yaml:7$/.test(e.location ?? "") &&
        e.message.endsWith(
          'prompt template: "q" not defined in the item (its fields: z, a) (template line 1, column 2)',
        ),
    );
  });
});
