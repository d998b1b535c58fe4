import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { latestSchema, openDatabase } from "../../src/store/database.js";
import { tempDir } from "../support/cli.js";

describe("a migration numbered below the database's version", () => {
  it("is applied late where it only adds columns (011 on a file another branch took to 013)", () => {
    const file = join(tempDir(), "q.db");
    openDatabase(file).close();
    // As a branch without 011 left it: at the latest version, no threads_reason column.
    const raw = new Database(file);
    raw.exec("ALTER TABLE variants DROP COLUMN threads_reason");
    raw.close();
    const db = openDatabase(file);
    const columns = (db.pragma("table_info(variants)") as Array<{ name: string }>).map(
      (c) => c.name,
    );
    assert.ok(columns.includes("threads_reason"), columns.join(", "));
    assert.equal(db.pragma("user_version", { simple: true }), latestSchema());
    db.close();
    // Opening again changes nothing.
    openDatabase(file).close();
  });
});
