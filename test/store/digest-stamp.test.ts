import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { openDatabase } from "../../src/store/database.js";
import { digestStamp, type Reader } from "../../src/store/facts-digest.js";
import { ItemColumn } from "../../src/store/item-column.js";
import { READER, readResultFacts, readRunFacts } from "../../src/store/read-facts.js";
import { storedGates } from "../../src/verdict/decide-run.js";
import { decide } from "../../src/verdict/policy.js";
import { writeSyntheticFile } from "../report/synthetic-run.js";
import { tempDir } from "../support/cli.js";

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

const RECORD_FIGURES = [
  "engineModelBytes",
  "engineKvBytes",
  "engineComputeBytes",
  "engineContextSize",
  "engineDeviceTotalBytes",
  "energyJoules",
  "energyTokens",
];

/** Only the per-item figures of a variant's facts (what a digest holds). */
function resultsOf(v: object): unknown {
  const { id, name, precision, isBaseline, status, error, modelBytes, peakRssBytes, ...rest } =
    v as Record<string, unknown>;
  // The variant row's engine and energy figures are read with the row, not kept in a digest.
  for (const key of RECORD_FIGURES) delete rest[key];
  return ordered(rest);
}

/**
 * A database whose first variant's digest holds the second variant's figures under the first's
 * own stamp: what a digest made by another reader would look like, findable at once.
 */
function poisoned(name: string): { path: string; runId: number; db: Database.Database } {
  const path = join(tempDir(), name);
  const runId = writeSyntheticFile(path, { variants: 3, items: 200, failedVariant: false });
  const db = openDatabase(path);
  const [first, second] = readRunFacts(db, runId).variants;
  assert.ok(first && second);
  db.prepare(
    "UPDATE variant_facts SET digest = (SELECT digest FROM variant_facts WHERE variant_id = ?) WHERE variant_id = ?",
  ).run(second.id, first.id);
  return { path, runId, db };
}

describe("the digest stamp", () => {
  it("serves a digest whose stamp matches (the poisoned one, to show the check below is real)", () => {
    const { runId, db } = poisoned("served.db");
    const [first, second] = readRunFacts(db, runId).variants;
    assert.ok(first && second);
    assert.deepEqual(resultsOf(first), resultsOf(second));
    assert.notDeepEqual(resultsOf(first), ordered(readResultFacts(db, first.id)));
    db.close();
  });

  for (const [what, reader] of [
    ["the reader's version", { ...READER, version: READER.version + 1 }],
    [
      "what is gated",
      {
        ...READER,
        definition: READER.definition.map((d) => d.replace("exact_match", "exact_match|accuracy")),
      },
    ],
    ["one of the reader's queries", { ...READER, definition: [...READER.definition, "SELECT 1"] }],
  ] as Array<[string, Reader]>) {
    it(`changes with ${what}: the stale digest is not served, the rows are read and the verdict is theirs`, () => {
      const { runId, db } = poisoned(`${what.replaceAll(/\W/g, "-")}.db`);
      const [v] = readRunFacts(db, runId).variants;
      assert.ok(v);
      assert.notEqual(digestStamp(db, v.id, reader), digestStamp(db, v.id, READER));
      const facts = readRunFacts(db, runId, reader);
      for (const variant of facts.variants)
        assert.deepEqual(resultsOf(variant), ordered(readResultFacts(db, variant.id)));
      const gates = storedGates(facts.planJson);
      const fromRows = {
        ...facts,
        variants: facts.variants.map((x) => ({ ...x, ...readResultFacts(db, x.id) })),
      };
      assert.deepEqual(decide(facts, gates), decide(fromRows, gates));
      // The new reader kept its own digest (a writable database), which it then serves.
      const stamps = db.prepare("SELECT stamp FROM variant_facts WHERE variant_id = ?");
      assert.equal((stamps.get(v.id) as { stamp: string }).stamp, digestStamp(db, v.id, reader));
      db.close();
    });
  }

  it("changes with the schema version", () => {
    const { db } = poisoned("schema.db");
    const id = (
      db.prepare("SELECT MIN(variant_id) AS id FROM variant_facts").get() as { id: number }
    ).id;
    const before = digestStamp(db, id, READER);
    const version = db.pragma("user_version", { simple: true }) as number;
    db.pragma(`user_version = ${version + 1}`);
    assert.notEqual(digestStamp(db, id, READER), before);
    db.pragma(`user_version = ${version}`);
    assert.equal(digestStamp(db, id, READER), before);
    db.close();
  });

  it("on a read-only connection, a stale digest is computed past in memory and left as it was", () => {
    const { path, runId, db } = poisoned("readonly.db");
    db.close();
    const readonly = new Database(path, { readonly: true });
    const digests = () =>
      readonly.prepare("SELECT variant_id, stamp, digest FROM variant_facts").all();
    const kept = digests();
    const reader = { ...READER, version: READER.version + 1 };
    for (const v of readRunFacts(readonly, runId, reader).variants)
      assert.deepEqual(resultsOf(v), ordered(readResultFacts(readonly, v.id)));
    assert.deepEqual(digests(), kept);
    readonly.close();
  });
});
