import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { planWork } from "../../src/orchestrator/work.js";
import { loadPlan } from "../../src/plan/load.js";
import { inShard } from "../../src/plan/shard.js";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { storedResults } from "../support/db.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

const ITEMS = 10;

function shardPlan(dir: string): string {
  writeFiles(dir, {
    "heldout.txt": "Once upon a time, there was a little girl named Lily. ".repeat(40),
    "ppl.yaml": "id: ppl\nmetrics:\n  - perplexity: { file: heldout.txt, ctx: 64 }\n",
  });
  return writePlan(
    dir,
    [{ name: "fp16" }, { name: "int8", file: "stories260K-q8_0.gguf" }],
    [writeClozeSuite(dir, ITEMS), join(dir, "ppl.yaml")],
    "repeats: 2",
  );
}

function storedItems(db: string, suite: string): string[] {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn
      .prepare("SELECT item_id FROM items WHERE suite_id = ? ORDER BY item_id")
      .all(suite) as Array<{ item_id: string }>;
    return rows.map((r) => r.item_id);
  } finally {
    conn.close();
  }
}

describe("--shard i/n (real llama.cpp runner on stories260K)", () => {
  it("planWork deals every item to exactly one of the shards, all its repeats together", () => {
    const resolved = loadPlan(shardPlan(tempDir()));
    const dealt = [0, 1, 2].map((index) => {
      const work = planWork(resolved.plan, resolved.suites, { index, count: 3 });
      const cloze = work.suites.find((s) => s.suite.id === "cloze");
      assert.equal(cloze?.kind, "items");
      return cloze?.kind === "items" ? cloze.work : [];
    });
    const ids = dealt.map((work) => [...new Set(work.map((w) => w.itemId))]);
    assert.deepEqual(ids.flat().sort(), resolved.suites[0]?.items.map((i) => i.id).sort());
    for (const [i, work] of dealt.entries()) {
      assert.ok([3, 4].includes(ids[i]?.length ?? 0), `shard ${i + 1}: ${ids[i]}`);
      assert.equal(work.length, 2 * (ids[i]?.length ?? 0), "each item twice (repeats: 2)");
    }
  });

  it("shard 2/3 runs exactly its items and chunks, each once per repeat and variant", async () => {
    const dir = tempDir();
    const plan = shardPlan(dir);
    const full = join(dir, "full.db");
    const whole = await qbench(["run", plan, "--db", full, "--quiet"]);
    assert.ok(whole.exitCode === 0 || whole.exitCode === 1, whole.stderr);
    const db = join(dir, "shard2.db");
    const out = await qbench(["run", plan, "--db", db, "--shard", "2/3", "--quiet"]);
    assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);

    const all = storedResults(full);
    const got = storedResults(db);
    for (const suite of ["cloze", "ppl"]) {
      const universe = storedItems(full, suite);
      const expected = inShard(suite, universe, (id) => id, { index: 1, count: 3 }).sort();
      const n = universe.length;
      assert.ok(n >= (suite === "ppl" ? 3 : ITEMS), `${suite}: ${n} items in the full run`);
      assert.ok(expected.length >= Math.floor(n / 3) && expected.length <= Math.ceil(n / 3));
      assert.deepEqual(storedItems(db, suite), expected, `${suite}: the items stored`);
      const repeats = suite === "cloze" ? [0, 1] : [0];
      const keys = got
        .filter((r) => r.suite === suite)
        .map((r) => `${r.variant}/${r.item}/${r.repeat}`);
      const wanted = ["fp16", "int8"].flatMap((v) =>
        expected.flatMap((item) => repeats.map((r) => `${v}/${item}/${r}`)),
      );
      assert.deepEqual(keys.sort(), wanted.sort(), `${suite}: the results stored`);
    }
    // The shard's results are the full run's, item for item.
    const byKey = new Map(all.map((r) => [`${r.variant}/${r.suite}/${r.item}/${r.repeat}`, r]));
    for (const r of got) {
      assert.deepEqual(r, byKey.get(`${r.variant}/${r.suite}/${r.item}/${r.repeat}`));
    }
  });
});
