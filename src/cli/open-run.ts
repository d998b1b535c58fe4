import { existsSync } from "node:fs";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import { InputError } from "../errors.js";
import type { Db } from "../store/database.js";
import { migrate } from "../store/database.js";

export const DEFAULT_DB = ".qbench/qbench.db";

/** Opens an existing qbench database (never creates one) for reading stored runs. */
export function openExistingDb(path: string): Db {
  const file = resolve(path);
  if (!existsSync(file))
    throw new InputError("BAD_INPUT", "no such database (run qbench run first)", {
      location: file,
    });
  const db = new Database(file);
  migrate(db);
  return db;
}

/** A run id as given on the command line (yargs `coerce`): a positive integer, or BAD_USAGE. */
export function parseRunId(value: unknown): number {
  const text = String(value).trim();
  if (!/^[1-9]\d*$/.test(text)) {
    throw new InputError("BAD_USAGE", `run id must be a positive integer, got "${String(value)}"`);
  }
  return Number(text);
}

/** The run to act on: the one named, else the newest. */
export function chooseRun(
  db: Db,
  run: number | undefined,
): { id: number; status: string; plan_name: string } {
  const row = (
    run === undefined
      ? db.prepare("SELECT id, status, plan_name FROM runs ORDER BY id DESC LIMIT 1").get()
      : db.prepare("SELECT id, status, plan_name FROM runs WHERE id = ?").get(run)
  ) as { id: number; status: string; plan_name: string } | undefined;
  if (!row)
    throw new InputError(
      "BAD_INPUT",
      run === undefined ? "the database has no runs" : `run ${run} not found`,
    );
  return row;
}
