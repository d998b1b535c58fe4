import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { qbench, tempDir } from "../support/cli.js";
import { SUPPORT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

const fake = (mode: string) => [process.execPath, join(SUPPORT, "fake-runners.js"), mode];

describe("qbench run with runners that answer malformed results (test runners, on purpose)", () => {
  it("a malformed generate fails each item with BAD_RUNNER_RESPONSE; a malformed load fails the variant", async () => {
    const dir = tempDir();
    const plan = writePlan(
      dir,
      [
        { name: "base", runner: fake("ok") },
        { name: "badgen", runner: fake("malformed-generate") },
        { name: "badload", runner: fake("malformed-load") },
      ],
      [writeClozeSuite(dir, 3)],
      "maxFailedItems: 5",
    );
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db]);
    assert.equal(out.exitCode, 1, out.stderr);
    assert.doesNotMatch(out.stderr, /TypeError/);

    const conn = new Database(db, { readonly: true });
    try {
      const variants = conn
        .prepare("SELECT name, status, error FROM variants ORDER BY id")
        .all() as Array<{ name: string; status: string; error: string | null }>;
      assert.deepEqual(
        variants.map((v) => [v.name, v.status]),
        [
          ["base", "complete"],
          ["badgen", "complete"],
          ["badload", "failed"],
        ],
      );
      assert.match(
        variants[2]?.error ?? "",
        /^runner did not load the model: runner .* answered load with a malformed result: contextSize: /,
      );
      const items = conn
        .prepare(
          `SELECT r.status, r.error_kind, r.error FROM results r JOIN variants v ON v.id = r.variant_id
           WHERE v.name = 'badgen' ORDER BY r.id`,
        )
        .all() as Array<{ status: string; error_kind: string; error: string }>;
      assert.equal(items.length, 3);
      for (const item of items) {
        assert.equal(item.status, "error");
        assert.equal(item.error_kind, "BAD_RUNNER_RESPONSE");
        assert.match(item.error, /answered generate with a malformed result: completionTokens: /);
      }
    } finally {
      conn.close();
    }
  });
});
