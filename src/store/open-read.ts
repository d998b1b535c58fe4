import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { InputError } from "../errors.js";
import { type Db, latestSchema, migrate } from "./database.js";
import { canWrite } from "./writable.js";

/**
 * Opens an existing database (never creates one) to read stored runs. One that can be written
 * is brought to the latest schema and may keep derived data (digests); one that cannot (a
 * read-only file, folder or mount) is opened read-only and nothing is written, not even -wal/-shm.
 */
export function openForReading(path: string, missing = "no such database"): Db {
  const file = resolve(path);
  if (!existsSync(file)) throw new InputError("BAD_INPUT", missing, { location: file });
  if (canWrite(file) && canWrite(dirname(file))) {
    const db = new Database(file, { fileMustExist: true });
    migrate(db);
    return db;
  }
  const db = openReadOnly(file);
  const version = db.pragma("user_version", { simple: true }) as number;
  const latest = latestSchema();
  if (version < READABLE_FROM) {
    db.close();
    throw new InputError(
      "BAD_INPUT",
      `read-only, and written by an older qbench (schema ${version}; this one reads ${latest}): open it once with a writing command (qbench run --resume, qbench merge) where it can be written, or read a writable copy`,
      { location: file },
    );
  }
  return db;
}

/** The oldest schema the read commands read as it is (008 added a status and a writer column). */
const READABLE_FROM = 7;

function openReadOnly(file: string): Db {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma("user_version");
    return db;
  } catch (error) {
    if ((error as { code?: string }).code !== "SQLITE_CANTOPEN") throw error;
  }
  // A WAL database whose folder is read-only and has no -shm cannot be opened in place: read a
  // copy in memory, marked as a rollback-journal file. Its -wal, if any, would be missed.
  const wal = `${file}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new InputError(
      "BAD_INPUT",
      `its folder is read-only and ${wal} holds writes not yet in the file: open it once where it can be written`,
      { location: file },
    );
  }
  const copy = readFileSync(file);
  // Bytes 18 and 19 are the file format's write and read versions: 2 is WAL, 1 legacy.
  if (copy.length > 19 && copy[18] === 2 && copy[19] === 2) copy.fill(1, 18, 20);
  return new Database(copy, { readonly: true });
}
