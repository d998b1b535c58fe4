import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

/** A plan for another machine: its models and suites are not here, only its gates matter. */
const elsewhere = (rule: string) =>
  [
    "name: elsewhere",
    "variants:",
    "  - { name: a, model: /nowhere/a.gguf }",
    "suites: [/nowhere/suite.yaml]",
    "gates:",
    "  quality: { minRatio: 0.9 }",
    "  metrics:",
    `    - ${rule}`,
  ].join("\n");

describe("gate names and gate --plan", () => {
  let dir: string;
  let db: string;
  before(async () => {
    dir = tempDir();
    db = join(dir, "run.db");
    const plan = writePlan(dir, [{ name: "a" }], [writeClozeSuite(dir, 2)]);
    const out = await qbench(["run", plan, "--db", db, "--quiet"]);
    assert.equal(out.exitCode, 0, out.stderr);
  });

  it("a gate naming a metric no suite produces is refused before the run, naming its line", async () => {
    const plan = writePlan(
      tempDir(),
      [{ name: "a" }],
      [writeClozeSuite(dir, 1, "typo")],
      "gates:\n  metrics:\n    - { metric: exact_mach, minRatio: 0.5 }",
    );
    const fresh = join(dir, "typo.db");
    const out = await qbench(["run", plan, "--db", fresh]);
    assert.equal(out.exitCode, 2, out.stderr);
    assert.match(
      out.stderr,
      /^qbench: .*plan\.yaml:14: gates\.metrics\[0\]\.metric: no suite of the plan produces "exact_mach" \(gated metrics: exact_match, rouge1_f1, rougeL_f1\)$/,
    );
    assert.equal(existsSync(fresh), false);
  });

  it("re-decides a stored run under a plan whose model files are not on this machine", async () => {
    writeFiles(dir, {
      "other.yaml": elsewhere("{ metric: rouge1_f1, suite: cloze, ignore: true }"),
    });
    const out = await qbench(["gate", "--db", db, "--plan", join(dir, "other.yaml"), "--json"]);
    assert.equal(out.exitCode, 0, out.stderr);
    const reasons = (JSON.parse(out.stdout) as { verdicts: Array<{ reasons: unknown[] }> })
      .verdicts;
    assert.equal(reasons.length, 1);
  });

  for (const [rule, message] of [
    ["{ metric: exact_mach }", /bad\.yaml:8: gates\.metrics\[0\]\.metric: no suite .*"exact_mach"/],
    [
      "{ metric: exact_match, suite: clozee }",
      /bad\.yaml:8: gates\.metrics\[0\]\.suite: no suite has the id "clozee" \(suites: cloze\)/,
    ],
    ["{ metric: rouge2_f1, suite: cloze }", /suite "cloze" does not produce "rouge2_f1"/],
    ["{ metric: exact_match, minRatio: 3 }", /bad\.yaml:8: gates\.metrics\[0\]\.minRatio: /],
  ] as const) {
    it(`gate --plan refuses ${rule} against the stored run's suites`, async () => {
      writeFiles(dir, { "bad.yaml": elsewhere(rule) });
      const out = await qbench(["gate", "--db", db, "--plan", join(dir, "bad.yaml")]);
      assert.equal(out.exitCode, 2, out.stderr);
      assert.match(out.stderr, message);
    });
  }
});
