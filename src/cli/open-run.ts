import { InputError } from "../errors.js";
import type { Db } from "../store/database.js";
import { openForReading } from "../store/open-read.js";

export const DEFAULT_DB = ".qbench/qbench.db";

/** Opens an existing qbench database (never creates one) for reading stored runs. */
export function openExistingDb(path: string): Db {
  return openForReading(path, "no such database (run qbench run first)");
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
