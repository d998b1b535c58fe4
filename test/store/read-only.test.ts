import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { qbench, tempDir } from "../support/cli.js";
import { type Mounted, mountReadOnly } from "../support/mounts.js";
import { SUPPORT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

/** Every file of a folder with its size, mtime and hash: what "wrote nothing" compares. */
function snapshot(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const file = join(dir, name);
      const hash = createHash("sha256").update(readFileSync(file)).digest("hex");
      return `${name} ${statSync(file).size} ${statSync(file).mtimeMs} ${hash}`;
    });
}

describe("a read-only database (a read-only bind mount: root ignores file modes)", () => {
  const dir = tempDir();
  const ro = join(dir, "ro");
  const old = join(dir, "old");
  const marker = join(dir, "runner-started");
  let plan = "";
  let mounted: Mounted[] = [];

  before(async () => {
    const fake = join(SUPPORT, "fake-runners.js");
    // The runner leaves a marker: `run` on a read-only database must refuse before one starts.
    const runner = ["sh", "-c", `touch ${marker}; exec ${process.execPath} ${fake} ok`];
    plan = writePlan(
      dir,
      [
        { name: "base", runner },
        { name: "other", runner },
      ],
      [writeClozeSuite(dir, 12)],
    );
    const db = join(dir, "run.db");
    for (let i = 0; i < 2; i++) {
      const out = await qbench(["run", plan, "--db", db, "--quiet", "--no-report"]);
      assert.equal(out.exitCode, 0, out.stderr);
    }
    rmSync(marker);
    mkdirSync(ro);
    copyFileSync(db, join(ro, "run.db"));
    mkdirSync(old);
    copyFileSync(db, join(old, "run.db"));
    const handle = new Database(join(old, "run.db"));
    handle.pragma("user_version = 6");
    handle.close();
    mounted = [mountReadOnly(ro), mountReadOnly(old)];
  });
  after(() => {
    for (const m of mounted) if ("unmount" in m) m.unmount();
  });
  const skip = () => mounted.find((m) => "skip" in m) as { skip: string } | undefined;

  it("gate, report, history and compare read it and write nothing (no -wal, -shm or digest)", async (t) => {
    if (skip()) return t.skip(skip()?.skip);
    const db = join(ro, "run.db");
    const before = snapshot(ro);
    const gate = await qbench(["gate", "--db", db]);
    assert.equal(gate.exitCode, 0, gate.stderr);
    assert.match(gate.stdout, /run 2 \(test-plan, complete\)/);
    const report = await qbench(["report", "--db", db, "--out", join(dir, "r.html")]);
    assert.equal(report.exitCode, 0, report.stderr);
    const history = await qbench(["history", "--db", db]);
    assert.equal(history.exitCode, 0, history.stderr);
    assert.match(history.stdout, /runs 1, 2/);
    const compare = await qbench(["compare", "1", "2", "--db", db]);
    assert.equal(compare.exitCode, 0, compare.stderr);
    assert.deepEqual(snapshot(ro), before);
  });

  it("report without --out says the folder is read-only and to name another file (exit 2)", async (t) => {
    if (skip()) return t.skip(skip()?.skip);
    const out = await qbench(["report", "--db", join(ro, "run.db")]);
    assert.equal(out.exitCode, 2, out.stderr);
    assert.match(out.stderr, /ro is on a read-only file system: name another file with --out/);
    assert.deepEqual(readdirSync(ro), ["run.db"]);
  });

  it("run refuses it with exit 2 naming the path, before any runner starts", async (t) => {
    if (skip()) return t.skip(skip()?.skip);
    const db = join(ro, "run.db");
    for (const args of [
      ["--db", db],
      ["--db", db, "--resume"],
      ["--db", join(ro, "new.db")],
    ]) {
      const out = await qbench(["run", plan, ...args, "--quiet"]);
      assert.equal(out.exitCode, 2, out.stderr);
      assert.match(
        out.stderr,
        /ro\/(run|new)\.db: cannot write the database: .*read-only file system/,
      );
    }
    assert.equal(existsSync(marker), false, "no runner started");
    assert.deepEqual(readdirSync(ro), ["run.db"]);
  });

  it("run refuses a path under a file (ENOTDIR) with exit 2", async () => {
    const out = await qbench(["run", plan, "--db", join(plan, "x.db"), "--quiet"]);
    assert.equal(out.exitCode, 2, out.stderr);
    assert.match(
      out.stderr,
      /plan\.yaml\/x\.db: cannot write the database: .*plan\.yaml is not a folder/,
    );
  });

  it("an older schema, read-only, is refused with a message that says so", async (t) => {
    if (skip()) return t.skip(skip()?.skip);
    const out = await qbench(["gate", "--db", join(old, "run.db")]);
    assert.equal(out.exitCode, 2, out.stderr);
    assert.match(
      out.stderr,
      /read-only, and written by an older qbench \(schema 6; .*writing command/,
    );
  });

  it("a writable database read by gate is left without -wal or -shm", async () => {
    const db = join(dir, "run.db");
    const out = await qbench(["gate", "--db", db]);
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(existsSync(`${db}-wal`), false);
    assert.equal(existsSync(`${db}-shm`), false);
  });
});
