import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { countResults, storedResults } from "../support/db.js";
import { ROOT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

describe("resume after kill -9 (real runs on stories260K)", () => {
  it("finishes a killed run with every item scored exactly once, as an uninterrupted run scores it", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 150);
    writeFiles(dir, {
      "heldout.txt": "Once upon a time, there was a little girl named Lily. ".repeat(60),
    });
    writeFiles(dir, {
      "ppl.yaml": "id: ppl\nmetrics:\n  - perplexity: { file: heldout.txt, ctx: 64 }\n",
    });
    const plan = writePlan(
      dir,
      [{ name: "fp16" }, { name: "int4", file: "stories260K-q4_0.gguf" }],
      [suite, join(dir, "ppl.yaml")],
      "repeats: 2",
    );

    const reference = join(dir, "reference.db");
    const full = await qbench(["run", plan, "--db", reference, "--quiet"]);
    // 0 or 1 is the verdict (int4 may not ship); anything else means the run itself broke.
    assert.ok(full.exitCode === 0 || full.exitCode === 1, full.stderr);
    const expected = storedResults(reference);
    assert.ok(expected.length > 600, `uninterrupted run stored ${expected.length}`);

    const db = join(dir, "killed.db");
    const child = execa(
      process.execPath,
      [join(ROOT, "bin/qbench.js"), "run", plan, "--db", db, "--quiet"],
      {
        reject: false,
      },
    );
    const deadline = Date.now() + 60_000;
    while (countResults(db) < 150 && Date.now() < deadline) await sleep(20);
    child.kill("SIGKILL");
    await child;
    const partial = countResults(db);
    assert.ok(
      partial >= 150 && partial < expected.length,
      `killed after ${partial} of ${expected.length}`,
    );

    const resumed = await qbench(["run", plan, "--db", db, "--resume"]);
    assert.equal(resumed.exitCode, full.exitCode, resumed.stderr);
    assert.match(resumed.stderr, /resuming run 1/);
    const after = storedResults(db);
    const keys = after.map((r) => `${r.variant}/${r.suite}/${r.item}/${r.repeat}`);
    assert.equal(new Set(keys).size, keys.length, "no item is stored twice");
    assert.deepEqual(after, expected);
    console.log(
      `resume: killed after ${partial}/${expected.length} results; resumed run stores ${after.length}, each once, identical to the uninterrupted run`,
    );
  });
});
