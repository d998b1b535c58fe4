import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { storedResults } from "../support/db.js";
import { SUPPORT } from "../support/paths.js";
import { writePlan } from "../support/plans.js";

const fake = [process.execPath, join(SUPPORT, "fake-runners.js"), "choices-crash-on-marker"];

describe("multiple-choice items two in flight (a test runner that crashes on one item)", () => {
  it("fails only the item that crashed the runner; the one in flight beside it is scored again and stored ok", async () => {
    const dir = tempDir();
    const rows = Array.from({ length: 12 }, (_, i) => ({
      id: `c-${String(i + 1).padStart(2, "0")}`,
      ctx: i === 4 ? "This one will CRASH the runner:" : `Item ${i + 1} starts here:`,
      endings: ["first", "second", "third"],
      label: i % 3,
    }));
    writeFiles(dir, {
      "mc.yaml": [
        "id: mc",
        'template: "{{ctx}}"',
        "metrics:",
        "  - multiple_choice: { choices: endings, gold: label, scoring: llama.cpp }",
        "data: mc.jsonl",
      ].join("\n"),
      "mc.jsonl": `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`,
    });
    const plan = writePlan(dir, [{ name: "fake", runner: fake }], [join(dir, "mc.yaml")]);
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db]);
    const text = out.stdout + out.stderr;
    assert.ok([0, 1].includes(out.exitCode), text);
    const results = storedResults(db).filter((r) => r.suite === "mc");
    assert.equal(results.length, 12, text);
    assert.deepEqual(
      results.filter((r) => r.status !== "ok").map((r) => r.item),
      ["c-05"],
      "only the item that crashed the runner failed",
    );
    // This runner picks the choice with an "f" in it, "first": acc is 1 where the gold is 0.
    for (const r of results.filter((x) => x.status === "ok")) {
      const gold = rows.find((row) => row.id === r.item)?.label;
      assert.equal(r.metrics, `acc=${gold === 0 ? 1 : 0}`, `${r.item}: ${r.output}`);
    }
    const conn = new Database(db, { readonly: true });
    const failed = conn
      .prepare("SELECT error_kind, stderr_tail FROM results WHERE status = 'error'")
      .all() as Array<{ error_kind: string; stderr_tail: string }>;
    conn.close();
    assert.equal(failed[0]?.error_kind, "crash");
    assert.match(failed[0]?.stderr_tail ?? "", /about to crash mid-item/);
  });
});
