import { readFile } from "node:fs/promises";
import { parquetReadObjects } from "hyparquet";

/** A Parquet file's rows as plain objects; 64-bit integers become numbers where exact. */
export async function decodeParquet(file: string): Promise<Record<string, unknown>[]> {
  const bytes = await readFile(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = await parquetReadObjects({ file: buffer });
  return rows.map((row) => plain(row) as Record<string, unknown>);
}

/** BigInt (INT64 columns) to number when it fits, as Python's int would print; dates as ISO text. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
