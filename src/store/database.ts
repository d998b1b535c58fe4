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
  addLateColumns(db, dir);
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

/**
 * Migrations numbered below a database's version that it never ran: branches number their
 * migrations apart and merge in any order, so a file at 013 may lack 011. A migration made only of
 * `ALTER TABLE … ADD COLUMN` is applied late, column by column, where the column is missing.
 */
function addLateColumns(db: Db, dir: string): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  const late = migrationFiles(dir)
    .filter((file) => Number(file.slice(0, 3)) <= version)
    .flatMap((file) => addedColumns(readFileSync(`${dir}/${file}`, "utf8")) ?? []);
  const missing = () => late.filter(({ table, column }) => !hasColumn(db, table, column));
  if (missing().length === 0) return;
  db.transaction(() => {
    for (const { statement } of missing()) db.exec(statement);
  }).immediate();
}

/** The columns a migration adds, or undefined if it does anything else. */
function addedColumns(
  sql: string,
): Array<{ table: string; column: string; statement: string }> | undefined {
  const statements = sql
    .replace(/--.*$/gm, "")
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const added = statements.map((statement) => {
    const match = /^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\b/i.exec(statement);
    return match ? { table: match[1] as string, column: match[2] as string, statement } : undefined;
  });
  return added.every((a) => a !== undefined) ? added : undefined;
}

function hasColumn(db: Db, table: string, column: string): boolean {
  const columns = db.pragma(`table_info(${table})`) as Array<{ name: string }>;
  return columns.length === 0 || columns.some((c) => c.name === column);
}
