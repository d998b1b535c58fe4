import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { InputError, messageOf } from "../errors.js";
import { checkWritable } from "./writable.js";

/** The subset of better-sqlite3 the store uses; tests pass an in-memory database. */
export type Db = Database.Database;

const MIGRATIONS = fileURLToPath(new URL("../../../src/store/migrations/", import.meta.url));

/** Opens (creating if needed) a qbench database in WAL mode and brings it to the latest schema. */
export function openDatabase(path: string): Db {
  if (path !== ":memory:") {
    checkWritable(path);
    mkdirSync(dirname(path), { recursive: true });
  }
  let db: Db;
  try {
    db = new Database(path);
    // Before the first statement: a second process opening the same new file waits its turn.
    db.pragma("busy_timeout = 5000");
    db.pragma("journal_mode = WAL");
  } catch (error) {
    throw new InputError("BAD_INPUT", `cannot open database: ${messageOf(error)}`, {
      location: path,
      cause: error,
    });
  }
  db.pragma("synchronous = NORMAL");
  migrate(db);
  db.pragma("foreign_keys = ON");
  return db;
}

/** The schema version this code reads and writes: the highest numbered migration. */
export function latestSchema(dir = MIGRATIONS): number {
  return Math.max(0, ...migrationFiles(dir).map((f) => Number(f.slice(0, 3))));
}

function migrationFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}-.+\.sql$/.test(f))
    .sort();
}

/**
 * Applies numbered `NNN-name.sql` migrations above `PRAGMA user_version`, each in an immediate
 * transaction that reads the version again (two processes may open one new file at once).
 * Foreign keys are off meanwhile, as SQLite's table-rebuild procedure needs, and checked after.
 */
export function migrate(db: Db, dir = MIGRATIONS): void {
  const latest = latestSchema(dir);
  if ((db.pragma("user_version", { simple: true }) as number) >= latest) return;
  const foreignKeys = db.pragma("foreign_keys", { simple: true }) as number;
  db.pragma("foreign_keys = OFF");
  try {
    for (const file of migrationFiles(dir)) {
      const version = Number(file.slice(0, 3));
      const sql = readFileSync(`${dir}/${file}`, "utf8");
      db.transaction(() => {
        if ((db.pragma("user_version", { simple: true }) as number) >= version) return;
        db.exec(sql);
        const broken = db.pragma("foreign_key_check") as unknown[];
        if (broken.length > 0)
          throw new Error(`migration ${file} broke ${broken.length} foreign keys`);
        db.pragma(`user_version = ${version}`);
      }).immediate();
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys}`);
  }
}
