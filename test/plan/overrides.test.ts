import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench, tempDir } from "../support/cli.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

describe("a bad flag is blamed on the flag, not on the plan", () => {
  for (const [flags, expected] of [
    [["--ctx", "-1"], /^qbench: --ctx: Too small: expected number to be >=16, got -1$/],
    [["--ctx", "abc"], /^qbench: --ctx: expected a number$/],
    [["--max-tokens", "0"], /^qbench: --max-tokens: .*got 0$/],
    [["--repeats", "1.5"], /^qbench: --repeats: .*got 1\.5$/],
  ] as const) {
    it(`qbench run plan.yaml ${flags.join(" ")}`, async () => {
      const dir = tempDir();
      const plan = writePlan(dir, [{ name: "a" }], [writeClozeSuite(dir, 1)]);
      const db = join(dir, "run.db");
      const out = await qbench(["run", plan, ...flags, "--db", db]);
      assert.equal(out.exitCode, 2, out.stderr);
      assert.match(out.stderr.trimEnd(), expected);
      assert.doesNotMatch(out.stderr, /plan\.yaml/);
      assert.equal(existsSync(db), false);
    });
  }
});
