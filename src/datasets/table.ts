import { extname } from "node:path";
import { InputError, messageOf } from "../errors.js";
import { MAX_FLOW_DEPTH, tooDeepAt } from "../yaml/depth.js";
import { readTextFile } from "../yaml/source.js";
import { parseCsv, typeColumn } from "./csv.js";
import { runSync } from "./sync-worker.js";

/** One row of a dataset and where it is (file:line, or the file and row for Parquet). */
export interface Row {
  row: Record<string, unknown>;
  location: string;
}

export const TABLE_EXTENSIONS = [".jsonl", ".json", ".csv", ".parquet"] as const;

export function isTableFile(path: string): boolean {
  return (TABLE_EXTENSIONS as readonly string[]).includes(extname(path).toLowerCase());
}

/** Reads a JSONL, JSON (an array of objects, or JSON Lines), CSV or Parquet file's rows. */
export function readTable(file: string, referencedAt?: string): Row[] {
  const ext = extname(file).toLowerCase();
  if (ext === ".parquet") return readParquet(file, referencedAt);
  const text = readTextFile(file, "BAD_SUITE", referencedAt);
  if (ext === ".csv") return readCsv(file, text);
  if (ext === ".json" && text.trimStart().startsWith("[")) return readJsonArray(file, text);
  if (ext === ".jsonl" || ext === ".json") return readJsonLines(file, text);
  throw new InputError(
    "BAD_SUITE",
    `cannot read ${ext || "a file without an extension"}: use .jsonl, .json, .csv or .parquet`,
    { location: referencedAt ?? file },
  );
}

function readJsonLines(file: string, text: string): Row[] {
  const rows: Row[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const location = `${file}:${i + 1}`;
    rows.push({ row: parseObject(line, location), location });
  });
  return rows;
}

function readJsonArray(file: string, text: string): Row[] {
  const value = parseJson(text, `${file}:1`);
  if (!Array.isArray(value))
    throw new InputError("BAD_SUITE", "expected a JSON array", { location: `${file}:1` });
  return value.map((row, i) => {
    const location = `${file} [${i}]`;
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      throw new InputError("BAD_SUITE", "each entry must be a JSON object", { location });
    }
    return { row: row as Record<string, unknown>, location };
  });
}

function parseObject(line: string, location: string): Record<string, unknown> {
  const value = parseJson(line, location);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError("BAD_SUITE", "each line must be a JSON object", { location });
  }
  return value as Record<string, unknown>;
}

function parseJson(text: string, location: string): unknown {
  // Refused before parsing: past the stack, parse would fail where the stack ends.
  if (tooDeepAt(text) !== undefined) {
    throw new InputError("BAD_SUITE", `nested more than ${MAX_FLOW_DEPTH} levels deep`, {
      location,
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError("BAD_SUITE", `invalid JSON: ${messageOf(error)}`, {
      location,
      cause: error,
    });
  }
}

function readCsv(file: string, text: string): Row[] {
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(text);
  } catch (error) {
    throw new InputError("BAD_SUITE", `invalid CSV: ${messageOf(error)}`, {
      location: file,
      cause: error,
    });
  }
  const { header, records } = parsed;
  for (const record of records) {
    if (record.fields.length !== header.length) {
      throw new InputError(
        "BAD_SUITE",
        `${record.fields.length} fields where the header has ${header.length}`,
        { location: `${file}:${record.line}` },
      );
    }
  }
  const columns = header.map((_, c) => typeColumn(records.map((r) => r.fields[c] as string)));
  return records.map((record, r) => ({
    row: Object.fromEntries(header.map((name, c) => [name, columns[c]?.[r]])),
    location: `${file}:${record.line}`,
  }));
}

function readParquet(file: string, referencedAt?: string): Row[] {
  let rows: Record<string, unknown>[];
  try {
    rows = runSync({ kind: "parquet", file }) as Record<string, unknown>[];
  } catch (error) {
    const reason = /ENOENT/.test(messageOf(error))
      ? `file not found: ${file}`
      : `cannot read Parquet: ${messageOf(error)}`;
    throw new InputError("BAD_SUITE", reason, { location: referencedAt ?? file, cause: error });
  }
  return rows.map((row, i) => ({ row, location: `${file} row ${i + 1}` }));
}
