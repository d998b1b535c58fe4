import { decodeTpsOf, type GenerationRow, prefillTpsOf } from "../measure/timing.js";
import { typed } from "./blobs.js";
import type { Db } from "./database.js";
import { digestStamp, type Reader, readDigest, storeDigest } from "./facts-digest.js";
import { ItemTables } from "./item-column.js";
import { readRun } from "./read-run.js";
import type { ResultFacts, RunFacts, RunRecord, TokenFacts, VariantFacts } from "./records.js";

/**
 * Quality metrics the gates judge: exact match, ROUGE F1 (precision/recall are shown, not gated)
 * and the multiple-choice accuracies.
 */
const GATED = /^(exact_match|rouge(\d|L|Lsum)\w*_f1|acc|acc_norm|acc_bytes|acc_mutual_info)$/;

export function isGatedMetric(name: string): boolean {
  return GATED.test(name);
}

const METRIC_ROWS = `SELECT r.suite_id, r.item_id, m.name, AVG(m.value) AS value
  FROM results r JOIN metrics m ON m.result_id = r.id
  WHERE r.variant_id = ? AND r.status = 'ok'
    AND (m.name IN ('exact_match', 'acc', 'acc_norm', 'acc_bytes', 'acc_mutual_info') OR m.name GLOB 'rouge*_f1')
  GROUP BY r.suite_id, r.item_id, m.name
  ORDER BY r.suite_id, r.item_id, m.name`;
const RESULT_ROWS = `SELECT suite_id, item_id, prompt_tokens, completion_tokens, ttft_ms, tokenize_ms,
    decode_ms, total_ms, ipc_ms
  FROM results WHERE variant_id = ? AND status = 'ok'
  ORDER BY suite_id, item_id, repeat`;
const FAILED_ROWS = "SELECT COUNT(*) AS n FROM results WHERE variant_id = ? AND status = 'error'";
const TOKEN_ROWS = `SELECT r.suite_id, r.item_id, t.logprobs, t.kld, t.same_top
  FROM token_scores t JOIN results r ON r.id = t.result_id
  WHERE r.variant_id = ? AND r.status = 'ok' ORDER BY r.suite_id, r.item_id`;

const BOUND_ROWS = `SELECT r.suite_id, m.name, SUM(m.value) AS total
  FROM results r JOIN metrics m ON m.result_id = r.id
  WHERE r.variant_id = ? AND r.status = 'ok' AND m.name IN ('kld_bound_tokens', 'kld_covered_sum')
  GROUP BY r.suite_id, m.name`;

/** This reader, as digest stamps name it: what it reads and what it gates. */
export const READER: Reader = {
  version: 3,
  definition: [METRIC_ROWS, RESULT_ROWS, FAILED_ROWS, TOKEN_ROWS, BOUND_ROWS, GATED.source],
};

function nested<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * Everything the verdict policy needs about one stored run, read from the database alone. A
 * digest whose stamp matches `reader` is used; else the rows are read, and the digest is kept
 * when the database was opened for writing.
 */
export function readRunFacts(db: Db, runId: number, reader = READER): RunFacts {
  return factsOf(db, readRun(db, runId), reader);
}

/** The facts of a run already read. */
export function factsOf(db: Db, run: RunRecord, reader = READER): RunFacts {
  const tables = new ItemTables();
  const variants = run.variants.map((v): VariantFacts => {
    const stamp = digestStamp(db, v.id, reader);
    let results = readDigest(db, v.id, stamp, tables);
    if (!results) {
      const read = readRows(db, v.id);
      results = read.facts;
      storeDigest(db, v.id, stamp, read.facts, read.items);
    }
    const { id, name, precision, isBaseline, status, error, modelBytes, peakRssBytes } = v;
    const { engineModelBytes, engineKvBytes, engineComputeBytes, engineContextSize } = v;
    const { engineDeviceTotalBytes } = v;
    return {
      ...{ id, name, precision, isBaseline, status, error, modelBytes, peakRssBytes },
      ...{ engineModelBytes, engineKvBytes, engineComputeBytes, engineContextSize },
      engineDeviceTotalBytes,
      ...{ energyJoules: v.energyJoules, energyTokens: v.energyTokens },
      ...results,
    };
  });
  const { planName, planJson, status, startedAt } = run;
  return { runId: run.id, planName, planJson, status, startedAt, variants };
}

/** The per-item figures from every result and metric row of a variant: what the digest spares. */
export function readResultFacts(db: Db, variantId: number): ResultFacts {
  return readRows(db, variantId).facts;
}

/** The facts, and each suite's items in the order the rows came (the order a digest keeps). */
function readRows(db: Db, variantId: number): { facts: ResultFacts; items: Map<string, string[]> } {
  const metricRows = db.prepare(METRIC_ROWS);
  const resultRows = db.prepare(RESULT_ROWS);
  const failed = db.prepare(FAILED_ROWS);
  const quality = new Map<string, Map<string, Map<string, number>>>();
  for (const m of metricRows.all(variantId) as Array<{
    suite_id: string;
    item_id: string;
    name: string;
    value: number;
  }>) {
    if (!isGatedMetric(m.name)) continue;
    nested(
      nested(quality, m.suite_id, () => new Map()),
      m.name,
      () => new Map(),
    ).set(m.item_id, m.value);
  }
  const items = new Map<string, string[]>();
  const lengths = new Map<string, Map<string, number[]>>();
  const facts = {
    ttftMs: [] as number[],
    decodeTps: [] as number[],
    prefillTps: [] as number[],
    e2eMs: [] as number[],
    busyMs: 0,
  };
  for (const g of resultRows.all(variantId) as Array<
    GenerationRow & { suite_id: string; item_id: string }
  >) {
    const list = nested(items, g.suite_id, () => []);
    if (list.at(-1) !== g.item_id) list.push(g.item_id);
    if (g.total_ms !== null) facts.busyMs += g.total_ms;
    if (g.completion_tokens === null) continue;
    nested(
      nested(lengths, g.suite_id, () => new Map()),
      g.item_id,
      () => [],
    ).push(g.completion_tokens);
    const decode = decodeTpsOf(g);
    if (decode !== undefined) facts.decodeTps.push(decode);
    if (g.ttft_ms === null) continue;
    facts.ttftMs.push(g.ttft_ms);
    // What the harness waited for, IPC included; the runner's own time where IPC was not recorded.
    const e2e = g.ipc_ms ?? g.total_ms;
    if (e2e !== null) facts.e2eMs.push(e2e);
    const prefill = prefillTpsOf(g);
    if (prefill !== undefined) facts.prefillTps.push(prefill);
  }
  const completionTokens = new Map<string, Map<string, number>>();
  for (const [suite, items] of lengths) {
    const means = new Map<string, number>();
    for (const [item, values] of items)
      means.set(item, values.reduce((a, b) => a + b, 0) / values.length);
    completionTokens.set(suite, means);
  }
  const ascending = (values: number[]) => Float64Array.from(values).sort();
  return {
    items,
    facts: {
      failedItems: (failed.get(variantId) as { n: number }).n,
      quality,
      completionTokens,
      ttftMs: ascending(facts.ttftMs),
      decodeTps: ascending(facts.decodeTps),
      prefillTps: ascending(facts.prefillTps),
      e2eMs: ascending(facts.e2eMs),
      busyMs: facts.busyMs,
      perplexity: readTokenFacts(db, variantId),
    },
  };
}

function readTokenFacts(db: Db, variantId: number): Map<string, TokenFacts> {
  const perplexity = new Map<string, TokenFacts>();
  for (const t of db.prepare(TOKEN_ROWS).all(variantId) as Array<{
    suite_id: string;
    item_id: string;
    logprobs: Buffer;
    kld: Buffer | null;
    same_top: Buffer | null;
  }>) {
    const facts = nested(perplexity, t.suite_id, () => ({ items: new Map() }));
    facts.items.set(t.item_id, {
      logprobs: typed(t.logprobs, Float32Array),
      ...(t.kld ? { kld: typed(t.kld, Float32Array) } : {}),
      ...(t.same_top ? { sameTop: typed(t.same_top, Uint8Array) } : {}),
    });
  }
  for (const b of db.prepare(BOUND_ROWS).all(variantId) as Array<{
    suite_id: string;
    name: string;
    total: number;
  }>) {
    const facts = perplexity.get(b.suite_id);
    if (!facts) continue;
    facts.kldBound ??= { tokens: 0, coveredMass: 0 };
    if (b.name === "kld_bound_tokens") facts.kldBound.tokens = b.total;
    else facts.kldBound.coveredMass = b.total;
  }
  return perplexity;
}
