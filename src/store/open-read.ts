import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { InputError } from "../errors.js";
import { type Db, latestSchema, migrate } from "./database.js";
import { canWrite } from "./writable.js";

/**
 * Opens an existing database (never creates one) read-only, through SQLite's read-only mode: the
 * read commands write nothing to it, not even -wal/-shm files, and any attempt to fails, root's
 * included. Only a schema older than the readers read is first brought up to date, where the
 * file and its folder can be written.
 */
export function openForReading(path: string, missing = "no such database"): Db {
  const file = resolve(path);
  if (!existsSync(file)) throw new InputError("BAD_INPUT", missing, { location: file });
  let db = openReadOnly(file);
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version >= READABLE_FROM) return db;
  db.close();
  if (canWrite(file) && canWrite(dirname(file))) {
    db = new Database(file, { fileMustExist: true });
    migrate(db);
    db.close();
    return openReadOnly(file);
  }
  throw new InputError(
    "BAD_INPUT",
    `read-only, and written by an older qbench (schema ${version}; this one reads ${latestSchema()}): open it once with a writing command (qbench run --resume, qbench merge) where it can be written, or read a writable copy`,
    { location: file },
  );
}

/** The oldest schema the read commands read as it is (008 added a status and a writer column). */
const READABLE_FROM = 7;

function openReadOnly(file: string): Db {
  // A read-only connection to a WAL file makes a -wal and a -shm beside it unless a writer's are
  // there already: then it reads in place (the writer's pages in the -wal included).
  const wal = `${file}-wal`;
  if (existsSync(wal)) {
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma("user_version");
      return db;
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_CANTOPEN") throw error;
    }
    // A read-only folder without the -shm: the -wal cannot be read, only the file.
    if (statSync(wal).size > 0) {
      throw new InputError(
        "BAD_INPUT",
        `its folder is read-only and ${wal} holds writes not yet in the file: open it once where it can be written`,
        { location: file },
      );
    }
  }
  // Otherwise read a copy in memory, marked as a rollback-journal file: nothing touches the disk.
  const copy = readFileSync(file);
  // Bytes 18 and 19 are the file format's write and read versions: 2 is WAL, 1 legacy.
  if (copy.length > 19 && copy[18] === 2 && copy[19] === 2) copy.fill(1, 18, 20);
  return new Database(copy, { readonly: true });
}
