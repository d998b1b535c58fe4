import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openForReading } from "../../src/store/open-read.js";
import { type CliResult, qbench, tempDir } from "../support/cli.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";
import { currentDigests } from "./digests.js";

/** What "wrote nothing" compares: the folder's entries, and the file's size, mtime and hash. */
function fingerprint(dir: string, file: string): string[] {
  const stat = statSync(file);
  const hash = createHash("sha256").update(readFileSync(file)).digest("hex");
  return [...readdirSync(dir).sort(), `${stat.size} ${stat.mtimeMs} ${hash}`];
}

/** The four read commands over one database; the report goes to `out`. */
async function readCommands(db: string, out: string): Promise<Record<string, CliResult>> {
  return {
    gate: await qbench(["gate", "--db", db]),
    report: await qbench(["report", "--db", db, "--out", out]),
    compare: await qbench(["compare", "1", "2", "--db", db]),
    history: await qbench(["history", "--db", db]),
  };
}

describe("read commands on a chmod -w copy of a real run's database (real runs on stories260K)", () => {
  const dir = tempDir();
  const ro = join(dir, "ro");
  const copy = join(ro, "run.db");
  const original = join(dir, "run.db");

  before(async () => {
    const plan = writePlan(
      dir,
      [{ name: "fp16" }, { name: "q8_0", file: "stories260K-q8_0.gguf" }],
      [writeClozeSuite(dir, 6)],
      "gates: { inconclusive: ship }",
    );
    for (let i = 0; i < 2; i++) {
      const out = await qbench(["run", plan, "--db", original, "--quiet", "--no-report"]);
      assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);
    }
    mkdirSync(ro);
    copyFileSync(original, copy);
    chmodSync(copy, 0o444);
    chmodSync(ro, 0o555);
  });
  after(() => chmodSync(ro, 0o755));

  it("gate, report, compare and history succeed, print what they print on the writable file, and leave its bytes, mtime and folder as they were", async () => {
    const before = fingerprint(ro, copy);
    const readOnly = await readCommands(copy, join(dir, "ro.html"));
    const writable = await readCommands(original, join(dir, "rw.html"));
    assert.deepEqual(fingerprint(ro, copy), before, "no byte, mtime or -wal/-shm/-journal changed");
    assert.deepEqual(readdirSync(ro), ["run.db"]);
    for (const [name, out] of Object.entries(readOnly)) {
      const expected = name === "gate" ? writable.gate?.exitCode : 0;
      assert.equal(out.exitCode, expected, `${name}: ${out.stderr}`);
      if (name !== "report") assert.equal(out.stdout, writable[name]?.stdout, name);
    }
    assert.match(readOnly.gate?.stdout ?? "", /run 2 \(test-plan, complete\)/);
    assert.match(readOnly.history?.stdout ?? "", /runs 1, 2/);
    assert.match(readOnly.compare?.stdout ?? "", /run 1 → run 2/);
    assert.ok([0, 1].includes(readOnly.gate?.exitCode ?? -1), "gate decided");
    assert.ok(statSync(join(dir, "ro.html")).size > 0, "the report was written elsewhere");
  });

  it("the run kept a digest per variant under this reader's stamp, which the read commands use", () => {
    const digests = currentDigests(copy);
    assert.ok(digests.variants > 0);
    assert.equal(digests.current, digests.variants);
  });

  it("the read side opens it in SQLite's read-only mode: a write fails even for root", () => {
    const before = fingerprint(ro, copy);
    const db = openForReading(copy);
    try {
      assert.equal(db.readonly, true);
      assert.throws(() => db.prepare("DELETE FROM variant_facts").run(), /readonly/);
    } finally {
      db.close();
    }
    assert.deepEqual(fingerprint(ro, copy), before);
  });
});
