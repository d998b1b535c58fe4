import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadPlan } from "../../src/plan/load.js";
import { qbench, tempDir } from "../support/cli.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

/** A cpu plan (backend: cpu) whose second variant, on line 9, is given `extra`. */
function planWith(extra: string, planExtra = ""): string {
  const dir = tempDir();
  const suite = writeClozeSuite(dir, 1);
  return writePlan(
    dir,
    [{ name: "base" }, { name: "gpu", file: "stories260K-q8_0.gguf", extra }],
    [suite],
    planExtra,
  );
}

describe("runner and backend pairs are resolved or refused when the plan is checked", () => {
  it("runner: webgpu alone implies backend webgpu, whatever the plan's backend", () => {
    const resolved = loadPlan(planWith("    runner: webgpu"));
    assert.deepEqual(
      resolved.variants.map((v) => [
        v.name,
        v.backend,
        v.runnerCommand.args[0]?.match(/dist\/runners\/([^/]+)\/main/)?.[1],
      ]),
      [
        ["base", "cpu", "llama-cpp"],
        ["gpu", "webgpu", "webgpu"],
      ],
    );
  });

  it("backend: webgpu alone picks the webgpu runner", () => {
    const resolved = loadPlan(planWith("    backend: webgpu"));
    assert.equal(resolved.variants[1]?.runnerCommand.args[0]?.includes("runners/webgpu/"), true);
  });

  for (const [extra, line, message] of [
    [
      "    runner: webgpu\n    backend: cpu",
      10,
      "runner webgpu runs backends auto, webgpu, not cpu",
    ],
    [
      "    runner: llama-cpp\n    backend: webgpu",
      10,
      "runner llama-cpp runs backends auto, cpu, cuda, vulkan, metal, not webgpu",
    ],
    ["    runner: webgpuu", 9, 'unknown runner "webgpuu" (bundled: llama-cpp, http, webgpu)'],
  ] as const) {
    it(`refuses ${extra.trim().replace(/\n\s*/, ", ")} before any variant runs`, async () => {
      const plan = planWith(extra);
      const db = join(plan, "..", "run.db");
      const out = await qbench(["run", plan, "--db", db]);
      assert.equal(out.exitCode, 2, out.stderr);
      assert.equal(out.stderr, `qbench: ${plan}:${line}: ${message}`);
      assert.equal(existsSync(db), false);
    });
  }

  it("refuses a llama-cpp variant under --backend webgpu, naming its runner line", async () => {
    const plan = planWith("    runner: llama-cpp");
    const out = await qbench([
      "run",
      plan,
      "--backend",
      "webgpu",
      "--db",
      join(plan, "..", "r.db"),
    ]);
    assert.equal(out.exitCode, 2, out.stderr);
    assert.match(
      out.stderr,
      /plan\.yaml:9: runner llama-cpp runs backends .*, not the plan's backend webgpu$/,
    );
  });
});
