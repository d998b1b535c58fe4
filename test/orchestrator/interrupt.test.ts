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

const ITEMS = 120;

function slowPlan(dir: string): string {
  return writeSlowPlan(dir, ITEMS);
}

function statuses(db: string): { run: string; variants: string[]; ok: number } {
  const handle = new Database(db, { readonly: true });
  try {
    const run = (handle.prepare("SELECT status FROM runs").get() as { status: string }).status;
    const variants = (
      handle.prepare("SELECT status FROM variants ORDER BY id").all() as Array<{ status: string }>
    ).map((v) => v.status);
    const ok = (
      handle.prepare("SELECT COUNT(*) AS n FROM results WHERE status = 'ok'").get() as { n: number }
    ).n;
    return { run, variants, ok };
  } finally {
    handle.close();
  }
}

async function interrupt(signal: "SIGINT" | "SIGTERM", times = 1) {
  const dir = tempDir();
  const plan = slowPlan(dir);
  const db = join(dir, "run.db");
  const child = execa(process.execPath, [join(ROOT, "bin/qbench.js"), "run", plan, "--db", db], {
    reject: false,
  });
  const deadline = Date.now() + 60_000;
  while (countResults(db) < 30 && Date.now() < deadline) await sleep(20);
  for (let i = 0; i < times; i++) child.kill(signal);
  const out = await child;
  return { dir, plan, db, out };
}

describe("a run stopped by a signal (real qbench processes, a slow fake runner: no GPU needed)", () => {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal}: stops the runners, stores the run as interrupted, exits ${code}; --resume finishes it exactly`, async () => {
      const { plan, db, out } = await interrupt(signal);
      assert.equal(out.exitCode, code, String(out.stderr));
      const stderr = String(out.stderr);
      const last = stderr.trimEnd().split("\n").at(-1) ?? "";
      assert.match(
        last,
        /^qbench: interrupted after (\d+) items; `qbench run .*plan\.yaml --db .*run\.db --resume` finishes it$/,
      );
      const stopped = statuses(db);
      assert.equal(stopped.run, "interrupted");
      assert.deepEqual(stopped.variants, ["interrupted", "pending"]);
      assert.equal(Number(/after (\d+) items/.exec(last)?.[1]), stopped.ok);
      assert.ok(stopped.ok >= 30 && stopped.ok < 2 * ITEMS, `stopped after ${stopped.ok}`);

      const gate = await qbench(["gate", "--db", db]);
      assert.equal(gate.exitCode, 3);
      assert.match(gate.stdout, /run 1 \(test-plan, interrupted\)/);
      assert.match(gate.stderr, /run 1 was interrupted: finish it with qbench run --resume/);

      const resumed = await qbench(["run", plan, "--db", db, "--resume", "--quiet"]);
      assert.equal(resumed.exitCode, 0, resumed.stderr);
      const done = statuses(db);
      assert.deepEqual(done, {
        run: "complete",
        variants: ["complete", "complete"],
        ok: 2 * ITEMS,
      });
      assert.equal(countResults(db), 2 * ITEMS, "no item stored twice, none failed");
    });
  }

  it("a second SIGINT exits at once with 130", async () => {
    const { out } = await interrupt("SIGINT", 2);
    assert.equal(out.exitCode, 130, String(out.stderr));
  });
});
