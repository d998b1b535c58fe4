import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { InputError } from "../errors.js";

/** The subset of better-sqlite3 the store uses; tests pass an in-memory database. */
export type Db = Database.Database;

const MIGRATIONS = fileURLToPath(new URL("../../../src/store/migrations/", import.meta.url));

/** Opens (creating if needed) a qbench database in WAL mode and brings it to the latest schema. */
export function openDatabase(path: string): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path);
    db.pragma("journal_mode = WAL");
  } catch (error) {
    throw new InputError("BAD_INPUT", `cannot open database: ${(error as Error).message}`, {
      location: path,
      cause: error,
    });
  }
  db.pragma("foreign_keys = ON");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/** Applies numbered `NNN-name.sql` migrations above `PRAGMA user_version`, each in a transaction. */
export function migrate(db: Db, dir = MIGRATIONS): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  const files = readdirSync(dir)
    .filter((f) => /^\d{3}-.+\.sql$/.test(f))
    .sort();
  for (const file of files) {
    const version = Number(file.slice(0, 3));
    if (version <= current) continue;
    const sql = readFileSync(`${dir}/${file}`, "utf8");
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
}
