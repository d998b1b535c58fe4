import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { tempDir } from "../support/cli.js";
import { ROOT, SUPPORT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

/** Reads a few bytes, then closes the pipe, as `| head -c 40` would. */
async function readThenClose(stream: Readable): Promise<string> {
  const [chunk] = (await once(stream, "data")) as [Buffer];
  stream.destroy();
  return chunk.toString("utf8").slice(0, 40);
}

describe("a closed stdout or stderr pipe (qbench run … | head)", () => {
  it("does not change the run's outcome or exit code: it finishes, stored complete", async () => {
    const dir = tempDir();
    const runner = [process.execPath, join(SUPPORT, "fake-runners.js"), "slow"];
    const plan = writePlan(
      dir,
      [
        { name: "base", runner },
        { name: "other", runner },
      ],
      [writeClozeSuite(dir, 60)],
    );
    const db = join(dir, "run.db");
    const child = spawn(process.execPath, [join(ROOT, "bin/qbench.js"), "run", plan, "--db", db], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = once(child, "exit") as Promise<[number | null, string | null]>;
    // stderr closes at the first progress line, stdout at the first line of the summary.
    const [err, out] = await Promise.all([
      readThenClose(child.stderr),
      readThenClose(child.stdout),
    ]);
    assert.match(err, /^plan /);
    assert.match(out, /^run 1/);
    const [code, signal] = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    const handle = new Database(db, { readonly: true });
    try {
      assert.equal(
        (handle.prepare("SELECT status FROM runs").get() as { status: string }).status,
        "complete",
      );
      assert.equal(
        (handle.prepare("SELECT COUNT(*) AS n FROM results").get() as { n: number }).n,
        120,
      );
    } finally {
      handle.close();
    }
  });
});
