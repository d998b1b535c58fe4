import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { openDatabase } from "../../src/store/database.js";
import { ItemColumn } from "../../src/store/item-column.js";
import { readResultFacts, readRunFacts } from "../../src/store/read-facts.js";
import { Store } from "../../src/store/store.js";
import type { RunFacts } from "../../src/verdict/facts.js";
import { writeSyntheticRun } from "../report/synthetic-run.js";

const dir = mkdtempSync(join(tmpdir(), "qbench-digest-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Facts as nested arrays: equal only when every map holds the same entries in the same order. */
function ordered(value: unknown): unknown {
  if (value instanceof Map || value instanceof ItemColumn)
    return [...value].map(([k, v]) => [k, ordered(v)]);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(ordered);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ordered(v)]));
  return value;
}

const digests = (db: Database.Database) =>
  (db.prepare("SELECT COUNT(*) AS n FROM variant_facts").get() as { n: number }).n;

function syntheticFile(name: string): { path: string; runId: number } {
  const path = join(dir, name);
  const db = openDatabase(path);
  const runId = writeSyntheticRun(db, { variants: 4, items: 400, failedVariant: true });
  db.close();
  return { path, runId };
}

describe("the per-variant facts digest", () => {
  it("is kept on the first read, and later reads from it equal a read of every row, in order", () => {
    const { path, runId } = syntheticFile("first.db");
    const db = openDatabase(path);
    assert.equal(digests(db), 0);
    const fromRows = readRunFacts(db, runId);
    assert.equal(digests(db), 4, "one digest per variant, the failed one included");
    const fromDigest = readRunFacts(db, runId);
    assert.deepEqual(ordered(fromDigest), ordered(fromRows));
    for (const v of fromDigest.variants)
      assert.deepEqual(ordered({ ...v, ...readResultFacts(db, v.id) }), ordered(v));
    // The synthetic run has every kind of figure the digest packs.
    const q8 = fromDigest.variants[1];
    assert.ok(q8 && q8.quality.get("summaries")?.get("rougeL_f1")?.size === 200);
    assert.ok(q8.perplexity.get("heldout")?.items.values().next().value?.kld);
    assert.ok(q8.ttftMs.length > 0 && q8.e2eMs.length > 0 && q8.busyMs > 0);
    db.close();
  });

  it("is made again once a result is added or an error row replaced", () => {
    const { path, runId } = syntheticFile("stale.db");
    const db = openDatabase(path);
    const before = readRunFacts(db, runId);
    const variant = before.variants[1];
    assert.ok(variant);
    const store = new Store(db);
    store.recordResult(variant.id, {
      suiteId: "qa",
      itemId: "late-item",
      repeat: 0,
      status: "error",
      error: "runner crashed",
      metrics: {},
    });
    const failed = readRunFacts(db, runId).variants[1];
    assert.equal(failed?.failedItems, variant.failedItems + 1);
    store.recordResult(variant.id, {
      suiteId: "qa",
      itemId: "late-item",
      repeat: 0,
      status: "ok",
      output: "dog",
      completionTokens: 2,
      ttftMs: 5,
      decodeMs: 10,
      totalMs: 20,
      metrics: { exact_match: 1 },
    });
    const retried = readRunFacts(db, runId).variants[1];
    assert.equal(retried?.failedItems, variant.failedItems);
    assert.equal(retried?.quality.get("qa")?.get("exact_match")?.get("late-item"), 1);
    assert.equal(retried?.completionTokens.get("qa")?.get("late-item"), 2);
    assert.equal(retried?.ttftMs.length, variant.ttftMs.length + 1);
    // The read above kept a new digest; reading from it gives what the rows give.
    const again = readRunFacts(db, runId).variants[1];
    assert.deepEqual(ordered(again), ordered({ ...again, ...readResultFacts(db, variant.id) }));
    db.close();
  });

  it("is dropped by any update or delete of a variant's rows outside qbench's own writes", () => {
    const { path, runId } = syntheticFile("edited.db");
    const db = openDatabase(path);
    const variant = readRunFacts(db, runId).variants[1];
    assert.ok(variant && digests(db) === 4);
    db.prepare(
      `UPDATE metrics SET value = 1 - value WHERE name = 'exact_match'
       AND result_id IN (SELECT id FROM results WHERE variant_id = ?)`,
    ).run(variant.id);
    assert.equal(digests(db), 3);
    const edited = readRunFacts(db, runId).variants[1];
    for (const [item, value] of variant.quality.get("qa")?.get("exact_match") ?? [])
      assert.equal(edited?.quality.get("qa")?.get("exact_match")?.get(item), 1 - value);
    db.prepare(
      "DELETE FROM token_scores WHERE result_id IN (SELECT id FROM results WHERE variant_id = ?)",
    ).run(variant.id);
    assert.equal(readRunFacts(db, runId).variants[1]?.perplexity.size, 0);
    db.prepare("UPDATE results SET ttft_ms = 1 WHERE variant_id = ?").run(variant.id);
    assert.ok(readRunFacts(db, runId).variants[1]?.ttftMs.every((t) => t === 1));
    db.close();
  });

  it("is not needed: a read-only database is read from its rows and left unchanged", () => {
    const { path, runId } = syntheticFile("readonly.db");
    const readonly = new Database(path, { readonly: true });
    const facts: RunFacts = readRunFacts(readonly, runId);
    assert.equal(digests(readonly), 0);
    readonly.close();
    const db = openDatabase(path);
    assert.deepEqual(ordered(facts), ordered(readRunFacts(db, runId)));
    db.close();
  });
});
