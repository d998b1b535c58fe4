import { createHash } from "node:crypto";
import type { Db } from "./database.js";
import { ItemColumn, ItemTables } from "./item-column.js";
import type { ResultFacts, TokenFacts } from "./records.js";

/**
 * What a digest was made by: the reader's own version, the exact queries it ran and the rule for
 * what is gated. Any change to one of them changes every stamp, so no digest made by another
 * reader is ever served.
 */
export interface Reader {
  /** Bump when the encoding or what the reader computes from the rows changes. */
  version: number;
  /** The SQL texts the reader runs, and the gated-metric rule, verbatim. */
  definition: readonly string[];
}

interface Header {
  failedItems: number;
  busyMs: number;
  /** Suites in SQL order, each with its items in SQL order: every map's keys follow it. */
  suites: Array<{ id: string; items: string[]; metrics: string[]; tokens: boolean }>;
  timings: { ttft: number; decode: number; prefill: number; e2e: number };
  /** Per perplexity suite, its items and the lengths of their arrays (0: absent). */
  perplexity: Array<{
    id: string;
    items: string[];
    logprobs: number[];
    kld: number[];
    sameTop: number[];
    kldBound?: { tokens: number; coveredMass: number };
  }>;
}

/**
 * Names a digest's inputs: the schema version, the reader (its version and a hash of its queries
 * and gating rule) and the exact set of result rows (results are only ever added, or an error row
 * replaced; triggers drop the digest on any other change).
 */
export function digestStamp(db: Db, variantId: number, reader: Reader): string {
  const schema = db.pragma("user_version", { simple: true }) as number;
  // COUNT, MAX and SUM of ids come from the (variant_id, …) index alone, without the rows.
  const row = db
    .prepare(
      `SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS max, COALESCE(SUM(id), 0) AS sum
       FROM results WHERE variant_id = ?`,
    )
    .get(variantId) as { n: number; max: number; sum: number };
  return `${schema}:${readerHash(reader)}:${row.n}:${row.max}:${row.sum}`;
}

/** The reader's version and a short hash of its definition. */
export function readerHash(reader: Reader): string {
  const hash = createHash("sha256").update(JSON.stringify(reader.definition)).digest("hex");
  return `${reader.version}.${hash.slice(0, 16)}`;
}

/** The stored digest when it was made from exactly these results, else undefined. */
export function readDigest(
  db: Db,
  variantId: number,
  stamp: string,
  tables = new ItemTables(),
): ResultFacts | undefined {
  const row = db
    .prepare("SELECT stamp, digest FROM variant_facts WHERE variant_id = ?")
    .get(variantId) as { stamp: string; digest: Buffer } | undefined;
  return row?.stamp === stamp ? decodeDigest(row.digest, tables) : undefined;
}

/**
 * Keeps the digest for the next reader, on a database opened for writing only (the read commands
 * open theirs read-only and compute in memory). Best effort: another process holding the write
 * lock leaves the database as it was, and the next reader reads the rows again.
 */
export function storeDigest(
  db: Db,
  variantId: number,
  stamp: string,
  facts: ResultFacts,
  items: Map<string, string[]>,
): void {
  if (db.readonly) return;
  try {
    db.prepare(
      "INSERT OR REPLACE INTO variant_facts (variant_id, stamp, digest) VALUES (?, ?, ?)",
    ).run(variantId, stamp, encodeDigest(facts, items));
  } catch {
    // Derived data only: not keeping it costs the next reader time, never a wrong figure.
  }
}

/**
 * Packs the facts as a JSON header (suites, their items, which metrics, array lengths) and typed
 * columns: per suite × metric one float64 column aligned with the suite's items (NaN where an
 * item has no value). `items` lists every suite's items in the order the rows were read, so
 * decoding restores every map in its original order.
 */
export function encodeDigest(facts: ResultFacts, items: Map<string, string[]>): Buffer {
  // float64 first, then float32, then bytes: every view decodeDigest makes is aligned.
  const sections = {
    f64: [] as Float64Array[],
    f32: [] as Float32Array[],
    u8: [] as Uint8Array[],
  };
  const column = (list: string[], values: ReadonlyMap<string, number>) => {
    const out = new Float64Array(list.length).fill(Number.NaN);
    list.forEach((item, i) => {
      const value = values.get(item);
      if (value !== undefined) out[i] = value;
    });
    sections.f64.push(out);
  };
  const header: Header = {
    failedItems: facts.failedItems,
    busyMs: facts.busyMs,
    suites: [],
    timings: {
      ttft: facts.ttftMs.length,
      decode: facts.decodeTps.length,
      prefill: facts.prefillTps.length,
      e2e: facts.e2eMs.length,
    },
    perplexity: [],
  };
  for (const [suite, list] of items) {
    const metrics = facts.quality.get(suite);
    const tokens = facts.completionTokens.get(suite);
    if (!metrics && !tokens) continue;
    const names = [...(metrics?.keys() ?? [])];
    header.suites.push({ id: suite, items: list, metrics: names, tokens: !!tokens });
    for (const values of metrics?.values() ?? []) column(list, values);
    if (tokens) column(list, tokens);
  }
  sections.f64.push(facts.ttftMs, facts.decodeTps, facts.prefillTps, facts.e2eMs);
  for (const [suite, { items: scored, kldBound }] of facts.perplexity) {
    const entry = {
      id: suite,
      items: [...scored.keys()],
      logprobs: [] as number[],
      kld: [] as number[],
      sameTop: [] as number[],
      ...(kldBound ? { kldBound } : {}),
    };
    for (const f of scored.values()) {
      entry.logprobs.push(f.logprobs.length);
      entry.kld.push(f.kld?.length ?? 0);
      entry.sameTop.push(f.sameTop?.length ?? 0);
      sections.f32.push(f.logprobs);
      if (f.kld) sections.f32.push(f.kld);
      if (f.sameTop) sections.u8.push(f.sameTop);
    }
    header.perplexity.push(entry);
  }
  const json = Buffer.from(JSON.stringify(header));
  const dataStart = Math.ceil((4 + json.length) / 8) * 8;
  const all = [...sections.f64, ...sections.f32, ...sections.u8];
  const out = Buffer.alloc(all.reduce((size, a) => size + a.byteLength, dataStart));
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  let offset = dataStart;
  for (const a of all) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return out;
}

/** The facts a digest packs; item lists equal to ones in `tables` share their table. */
export function decodeDigest(data: Buffer, tables = new ItemTables()): ResultFacts {
  // One aligned copy; every array below is a view into it.
  const buffer = new ArrayBuffer(data.byteLength);
  new Uint8Array(buffer).set(data);
  const length = data.readUInt32LE(0);
  const header = JSON.parse(data.toString("utf8", 4, 4 + length)) as Header;
  let offset = Math.ceil((4 + length) / 8) * 8;
  const take = <T>(
    Type: new (b: ArrayBuffer, o: number, n: number) => T,
    n: number,
    size: number,
  ) => {
    const view = new Type(buffer, offset, n);
    offset += n * size;
    return view;
  };
  const f64 = (n: number) => take(Float64Array, n, 8);
  const quality: ResultFacts["quality"] = new Map();
  const completionTokens: ResultFacts["completionTokens"] = new Map();
  for (const suite of header.suites) {
    const table = tables.intern(suite.id, suite.items);
    const column = () => new ItemColumn(table, f64(suite.items.length));
    if (suite.metrics.length > 0)
      quality.set(suite.id, new Map(suite.metrics.map((metric) => [metric, column()])));
    if (suite.tokens) completionTokens.set(suite.id, column());
  }
  const { timings } = header;
  const ttftMs = f64(timings.ttft);
  const decodeTps = f64(timings.decode);
  const prefillTps = f64(timings.prefill);
  const e2eMs = f64(timings.e2e);
  // The bytes (same-top flags) follow every float32 array.
  const floats = header.perplexity.reduce(
    (sum, suite) => suite.logprobs.concat(suite.kld).reduce((a, b) => a + b, sum),
    0,
  );
  let bytesAt = offset + floats * 4;
  const perplexity = new Map<string, TokenFacts>();
  for (const suite of header.perplexity) {
    const scored: TokenFacts["items"] = new Map();
    suite.items.forEach((item, i) => {
      const kld = suite.kld[i] ?? 0;
      const sameTop = suite.sameTop[i] ?? 0;
      const logprobs = take(Float32Array, suite.logprobs[i] ?? 0, 4);
      scored.set(item, {
        logprobs,
        ...(kld > 0 ? { kld: take(Float32Array, kld, 4) } : {}),
        ...(sameTop > 0 ? { sameTop: new Uint8Array(buffer, bytesAt, sameTop) } : {}),
      });
      bytesAt += sameTop;
    });
    perplexity.set(suite.id, {
      items: scored,
      ...(suite.kldBound ? { kldBound: suite.kldBound } : {}),
    });
  }
  return {
    failedItems: header.failedItems,
    busyMs: header.busyMs,
    quality,
    completionTokens,
    ttftMs,
    decodeTps,
    prefillTps,
    e2eMs,
    perplexity,
  };
}
