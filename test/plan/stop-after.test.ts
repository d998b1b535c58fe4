import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadPlan } from "../../src/plan/load.js";
import { tempDir, writeFiles } from "../support/cli.js";
import { model } from "../support/paths.js";
import { writeClozeSuite } from "../support/plans.js";

function planWith(extra: string): string {
  const dir = tempDir();
  const suite = writeClozeSuite(dir, 2);
  writeFiles(dir, {
    "plan.yaml": [
      "variants:",
      `  - { name: f16, model: ${model("stories260K-f16.gguf")} }`,
      `suites: [${suite}]`,
      extra,
    ].join("\n"),
  });
  return join(dir, "plan.yaml");
}

describe("the plan's limit that stops a variant and the gate's limit that ships it have two names", () => {
  it("reads stopAfterFailedItems, and maxFailedItems as its old name", () => {
    assert.equal(loadPlan(planWith("stopAfterFailedItems: 7")).plan.stopAfterFailedItems, 7);
    assert.equal(loadPlan(planWith("maxFailedItems: 5")).plan.stopAfterFailedItems, 5);
    assert.equal(loadPlan(planWith("")).plan.stopAfterFailedItems, 3);
  });

  it("keeps gates.maxFailedItems the ship gate, apart from the stop limit", () => {
    const plan = loadPlan(planWith("stopAfterFailedItems: 9\ngates: { maxFailedItems: 1 }")).plan;
    assert.equal(plan.stopAfterFailedItems, 9);
    assert.equal(plan.gates.maxFailedItems, 1);
  });

  it("refuses both names at once", () => {
    assert.throws(
      () => loadPlan(planWith("stopAfterFailedItems: 2\nmaxFailedItems: 2")),
      /maxFailedItems/,
    );
  });
});
