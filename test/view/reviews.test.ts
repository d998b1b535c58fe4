import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { StoreReader } from "../../src/store/reader.js";
import { ReviewWriter } from "../../src/store/reviews.js";
import { tempDir } from "../support/cli.js";
import { tablesDigest, writeReviewedRuns } from "./fixture.js";

const review = (
  runId: number,
  item: string,
  verdict: "acceptable" | "not-acceptable" | "unsure",
) => ({
  runId,
  variant: "q8_0",
  suite: "cloze",
  item,
  verdict,
  note: "",
  reviewer: "Ada Test",
});

describe("the reviews table (migration 011): written only as new rows, carried over on identical text (real runs on stories260K)", () => {
  let file: string;

  before(async () => {
    file = await writeReviewedRuns(tempDir(), {
      runs: 2,
      regressed: ["q1", "q2", "q3"],
      outputs: ["the same drifted answer"],
    });
  });

  it("the review writer's connection refuses every write but a new review, and leaves the rest of the file as it was", () => {
    const digest = tablesDigest(file);
    const writer = ReviewWriter.open(file);
    try {
      const stored = writer.add(review(1, "q1", "acceptable"));
      assert.equal(stored.verdict, "acceptable");
      const db = (writer as unknown as { db: Database.Database }).db;
      for (const sql of [
        "UPDATE runs SET status = 'failed'",
        "DELETE FROM results",
        "INSERT INTO metrics (result_id, name, value) VALUES (1, 'x', 1)",
        "UPDATE reviews SET verdict = 'unsure'",
        "DELETE FROM reviews",
      ]) {
        assert.throws(() => db.exec(sql), /qbench view writes nothing but new reviews/, sql);
      }
    } finally {
      writer.close();
    }
    assert.deepEqual(tablesDigest(file), digest);
    const reader = StoreReader.open(file);
    try {
      assert.deepEqual(
        reader.reviews(1).map((r) => [r.item, r.verdict, r.reviewer, r.carried]),
        [["q1", "acceptable", "Ada Test", false]],
      );
    } finally {
      reader.close();
    }
  });

  it("the newest review of an output counts; one of an earlier run carries over only where the output text is the same", () => {
    const writer = ReviewWriter.open(file);
    try {
      writer.add(review(1, "q2", "not-acceptable"));
      writer.add(review(1, "q2", "unsure"));
      writer.add(review(1, "q3", "acceptable"));
      // Run 2's q1 is reviewed on run 2 itself: that review counts there, not run 1's.
      writer.add(review(2, "q1", "not-acceptable"));
      assert.throws(
        () => writer.add(review(2, "no-such-item", "unsure")),
        /has no item cloze\/no-such-item/,
      );
    } finally {
      writer.close();
    }
    // Run 2's q3 now says something else: run 1's review of it no longer applies.
    const db = new Database(file);
    db.prepare(
      `UPDATE results SET output = 'a different answer' WHERE suite_id = 'cloze' AND item_id = 'q3'
       AND variant_id = (SELECT id FROM variants WHERE run_id = 2 AND name = 'q8_0')`,
    ).run();
    db.close();
    const reader = StoreReader.open(file);
    try {
      const shown = (run: number) =>
        reader.reviews(run).map((r) => [r.item, r.verdict, r.madeOnRun, r.carried]);
      assert.deepEqual(shown(1), [
        ["q1", "acceptable", 1, false],
        ["q2", "unsure", 1, false],
        ["q3", "acceptable", 1, false],
      ]);
      assert.deepEqual(
        shown(2).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
        [
          ["q1", "not-acceptable", 2, false],
          ["q2", "unsure", 1, true],
        ],
      );
    } finally {
      reader.close();
    }
  });

  it("a review is of the text in the database: a prompt changed since means a different item", () => {
    const db = new Database(file);
    db.prepare(
      "UPDATE items SET prompt = prompt || ' (edited)' WHERE run_id = 2 AND item_id = 'q2'",
    ).run();
    db.close();
    const reader = StoreReader.open(file);
    try {
      assert.deepEqual(
        reader.reviews(2).map((r) => r.item),
        ["q1"],
      );
    } finally {
      reader.close();
    }
  });
});
