import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { qbench, tempDir } from "../support/cli.js";
import { SUPPORT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

const fake = (mode: string) => [process.execPath, join(SUPPORT, "fake-runners.js"), mode];

describe("failure isolation (test runners that crash or hang, beside the real llama.cpp runner)", () => {
  it("fails the crashing and the hanging variant, finishes the others, and keeps the errors", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 8);
    const plan = writePlan(
      dir,
      [
        { name: "good" },
        { name: "crasher", runner: fake("crash") },
        { name: "hanger", runner: fake("hang") },
        { name: "q8", file: "stories260K-q8_0.gguf" },
      ],
      [suite],
      "maxFailedItems: 2\ntimeouts: { itemSeconds: 1 }",
    );
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db]);
    assert.equal(out.exitCode, 1, "a failed variant is a NO-SHIP");
    assert.match(out.stderr, /crasher failed: 3 items failed, over the limit of 2/);
    assert.match(out.stderr, /hanger failed: 3 items failed/);

    const conn = new Database(db, { readonly: true });
    const variants = conn
      .prepare("SELECT name, status, error FROM variants ORDER BY id")
      .all() as Array<{
      name: string;
      status: string;
      error: string | null;
    }>;
    assert.deepEqual(
      variants.map((v) => [v.name, v.status]),
      [
        ["good", "complete"],
        ["crasher", "failed"],
        ["hanger", "failed"],
        ["q8", "complete"],
      ],
    );
    const errors = conn
      .prepare(
        `SELECT v.name, r.error_kind, r.error, r.stderr_tail FROM results r JOIN variants v ON v.id = r.variant_id
         WHERE r.status = 'error' ORDER BY v.id, r.id`,
      )
      .all() as Array<{ name: string; error_kind: string; error: string; stderr_tail: string }>;
    assert.equal(errors.filter((e) => e.name === "crasher").length, 3);
    assert.equal(errors.filter((e) => e.name === "hanger").length, 3);
    for (const e of errors.filter((x) => x.name === "crasher")) {
      assert.equal(e.error_kind, "crash");
      assert.match(e.stderr_tail, /about to crash mid-item/);
    }
    for (const e of errors.filter((x) => x.name === "hanger")) {
      assert.equal(e.error_kind, "timeout");
      assert.match(e.stderr_tail, /hanging/);
    }
    const ok = conn
      .prepare(
        "SELECT v.name, COUNT(*) AS n FROM results r JOIN variants v ON v.id = r.variant_id WHERE r.status = 'ok' GROUP BY v.name ORDER BY v.name",
      )
      .all();
    assert.deepEqual(ok, [
      { name: "good", n: 8 },
      { name: "q8", n: 8 },
    ]);
    conn.close();
  });

  it("marks a variant whose runner cannot load the model failed, with the runner's reason", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 2);
    const plan = writePlan(
      dir,
      [{ name: "good" }, { name: "oom", runner: fake("bad-load") }],
      [suite],
    );
    const out = await qbench(["run", plan, "--db", join(dir, "run.db")]);
    assert.equal(out.exitCode, 1);
    assert.match(
      out.stdout,
      /oom \(oom, [\d.]+ MiB\): failed — runner did not load the model: cannot allocate/,
    );
    assert.match(out.stdout, /good \(good, [\d.]+ MiB\) \[baseline\]: complete/);
  });
});
