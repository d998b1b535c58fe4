import { InputError } from "../errors.js";
import { StoreReader } from "../store/reader.js";
import type { RunHead } from "../store/records.js";

export const DEFAULT_DB = ".qbench/qbench.db";

/** Opens an existing qbench database (never creates one) read-only, for reading stored runs. */
export function openExistingDb(path: string): StoreReader {
  return StoreReader.open(path, "no such database (run qbench run first)");
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
export function chooseRun(store: StoreReader, run: number | undefined): RunHead {
  const head = store.findRun(run);
  if (!head)
    throw new InputError(
      "BAD_INPUT",
      run === undefined ? "the database has no runs" : `run ${run} not found`,
    );
  return head;
}
