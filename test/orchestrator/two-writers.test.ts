import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { execa } from "execa";
import { qbench, tempDir } from "../support/cli.js";
import { countResults } from "../support/db.js";
import { ROOT } from "../support/paths.js";
import { writeSlowPlan } from "../support/plans.js";

const ITEMS = 80;

function slowPlan(dir: string, extra = ""): string {
  return writeSlowPlan(dir, ITEMS, extra);
}

const start = (args: string[]) =>
  execa(process.execPath, [join(ROOT, "bin/qbench.js"), ...args], { reject: false });

/** Integrity, and each run's status and distinct ok results. */
function inspect(db: string): { integrity: string; runs: Array<{ status: string; ok: number }> } {
  const handle = new Database(db, { readonly: true });
  try {
    return {
      integrity: handle.pragma("integrity_check", { simple: true }) as string,
      runs: handle
        .prepare(
          `SELECT r.status, (SELECT COUNT(DISTINCT x.variant_id || '/' || x.item_id || '/' || x.repeat)
             FROM results x JOIN variants v ON v.id = x.variant_id
             WHERE v.run_id = r.id AND x.status = 'ok') AS ok
           FROM runs r ORDER BY r.id`,
        )
        .all() as Array<{ status: string; ok: number }>,
    };
  } finally {
    handle.close();
  }
}

describe("two qbench run processes on one database (real processes, a slow fake runner)", () => {
  it("two plans at once into one new file both finish, every item stored once", async () => {
    const dir = tempDir();
    const a = slowPlan(dir);
    const bDir = tempDir();
    const b = slowPlan(bDir, "seed: 7");
    const db = join(dir, "shared.db");
    const [one, two] = await Promise.all([
      start(["run", a, "--db", db, "--quiet"]),
      start(["run", b, "--db", db, "--quiet"]),
    ]);
    assert.equal(one.exitCode, 0, String(one.stderr));
    assert.equal(two.exitCode, 0, String(two.stderr));
    const seen = inspect(db);
    assert.equal(seen.integrity, "ok");
    assert.deepEqual(seen.runs, [
      { status: "complete", ok: 2 * ITEMS },
      { status: "complete", ok: 2 * ITEMS },
    ]);
    assert.equal(countResults(db), 4 * ITEMS);
  });

  it("a --resume of the run another live process writes is refused at once (exit 2, its pid); the first finishes", async () => {
    const dir = tempDir();
    const plan = slowPlan(dir);
    const db = join(dir, "run.db");
    const first = start(["run", plan, "--db", db, "--quiet"]);
    const deadline = Date.now() + 60_000;
    while (countResults(db) < 10 && Date.now() < deadline) await sleep(20);
    const startedAt = Date.now();
    const second = await qbench(["run", plan, "--db", db, "--resume", "--quiet"]);
    const took = Date.now() - startedAt;
    assert.equal(second.exitCode, 2, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(`run\\.db: run 1 of this plan is still being written by process ${first.pid}@`),
    );
    assert.ok(took < 10_000, `refused after ${took} ms`);
    const done = await first;
    assert.equal(done.exitCode, 0, String(done.stderr));
    const seen = inspect(db);
    assert.equal(seen.integrity, "ok");
    assert.deepEqual(seen.runs, [{ status: "complete", ok: 2 * ITEMS }]);
    assert.equal(countResults(db), 2 * ITEMS);
  });
});
