import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { qbench, tempDir } from "../support/cli.js";
import { mountTmpfs } from "../support/mounts.js";
import { SUPPORT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

const ITEMS = 3000;

describe("a run whose database disk fills up (a small tmpfs: needs root, as .ci/run has)", () => {
  it("stops with exit 3 naming the database, and --resume finishes it once there is space, nothing lost or doubled", async (t) => {
    const dir = tempDir();
    const runner = [process.execPath, join(SUPPORT, "fake-runners.js"), "ok"];
    const plan = writePlan(
      dir,
      [
        { name: "base", runner },
        { name: "other", runner },
      ],
      [writeClozeSuite(dir, ITEMS)],
    );
    const disk = join(dir, "disk");
    mkdirSync(disk);
    // The schema and 3000 items fit in 600 KiB; their 6000 results do not.
    const mounted = mountTmpfs(disk, "600k");
    if ("skip" in mounted) return t.skip(mounted.skip);
    try {
      const db = join(disk, "run.db");
      const full = await qbench(["run", plan, "--db", db, "--quiet", "--no-report"]);
      assert.equal(full.exitCode, 3, full.stderr);
      assert.match(
        full.stderr,
        /^qbench: .*disk\/run\.db: the disk is full \(.*\); run 1 stopped after \d+ items\. Free space, then `qbench run .*--resume` finishes it$/m,
      );
      assert.doesNotMatch(full.stderr, /--verbose/);
      execFileSync("mount", ["-o", "remount,size=32m", disk]);
      const resumed = await qbench(["run", plan, "--db", db, "--resume", "--quiet", "--no-report"]);
      assert.equal(resumed.exitCode, 0, resumed.stderr);
      const handle = new Database(db, { readonly: true });
      try {
        assert.equal(handle.pragma("integrity_check", { simple: true }), "ok");
        const row = handle
          .prepare(
            `SELECT COUNT(*) AS n, COUNT(DISTINCT variant_id || '/' || item_id || '/' || repeat) AS distinct_keys,
               SUM(status = 'ok') AS ok, (SELECT status FROM runs) AS run FROM results`,
          )
          .get();
        assert.deepEqual(row, {
          n: 2 * ITEMS,
          distinct_keys: 2 * ITEMS,
          ok: 2 * ITEMS,
          run: "complete",
        });
      } finally {
        handle.close();
      }
    } finally {
      mounted.unmount();
    }
  });
});
