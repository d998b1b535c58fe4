import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench, tempDir } from "../support/cli.js";
import { storedResults } from "../support/db.js";
import { startHubServer } from "../support/hub-server.js";
import { ROOT } from "../support/paths.js";
import { writePlan } from "../support/plans.js";

const FIXTURES = join(ROOT, "test/fixtures");

describe("qbench run with lm-eval task files as suites (real llama.cpp runner on stories260K; the Hub a loopback stand-in, it cannot be reached here)", () => {
  it("scores a task file exactly as the same items in qbench's own suite form, and runs a real task file whose dataset it fetched", async () => {
    const hub = await startHubServer(join(FIXTURES, "lm-eval/hub"));
    try {
      const dir = tempDir();
      const plan = writePlan(
        dir,
        [{ name: "f32", file: "stories260K-f32.gguf", extra: "    baseline: true" }],
        [
          join(FIXTURES, "choices/hellaswag.yaml"),
          join(FIXTURES, "lm-eval/hellaswag-local.yaml"),
          join(FIXTURES, "lm-eval/tasks/arc/arc_easy.yaml"),
        ],
      );
      const db = join(dir, "run.db");
      const out = await qbench(["run", plan, "--db", db], {
        timeout: 300_000,
        env: { HF_ENDPOINT: hub.url, QBENCH_DATASETS_CACHE: join(dir, "datasets") },
      });
      const text = out.stdout + out.stderr;
      assert.equal(out.exitCode, 0, text);
      // The figures of lm-eval's port on these items (test/fixtures/choices/lm-eval-stories260K-f32.json).
      assert.match(text, /hellaswag\s+n=40\s+acc 0\.500\s+acc_norm 0\.375\s+acc_bytes 0\.375/);
      assert.match(
        text,
        /hellaswag_local\s+n=40\s+acc 0\.500\s+acc_norm 0\.375\s+acc_bytes 0\.375/,
      );
      assert.match(text, /arc_easy\s+n=6\s+acc /);
      const rows = storedResults(db);
      const picks = (suite: string) =>
        rows
          .filter((r) => r.suite === suite)
          .sort((a, b) => a.item.localeCompare(b.item, "en", { numeric: true }))
          .map((r) => r.output);
      const own = rows
        .filter((r) => r.suite === "hellaswag")
        .sort((a, b) => a.item.localeCompare(b.item))
        .map((r) => r.output);
      assert.deepEqual(
        picks("hellaswag_local"),
        own,
        "the same picks and log-likelihoods, item by item",
      );
      assert.equal(picks("arc_easy").length, 6);
    } finally {
      await hub.close();
    }
  });
});
