import type { LevelResult, SweepOptions } from "../sweep/load-sweep.js";
import { blob, typed } from "./blobs.js";
import { type Db, openDatabase } from "./database.js";
import { StoreReader } from "./reader.js";
import { type SweepRecord, saveSweep } from "./sweeps.js";
import {
  type NewRun,
  type NewVariant,
  type ResultRow,
  type TokenScores,
  VARIANT_UPDATE_COLUMNS,
  type VariantRow,
  type VariantUpdate,
} from "./write-types.js";

export type {
  NewRun,
  NewVariant,
  Provenance,
  ResultRow,
  TokenScores,
  VariantRow,
  VariantUpdate,
} from "./write-types.js";

const now = () => new Date().toISOString();

/**
 * The store's write side: what a run records, one transaction per finished item. Its `read` side
 * keeps the digests it computes (see StoreReader).
 */
export class Store {
  readonly read: StoreReader;

  constructor(private readonly db: Db) {
    this.read = new StoreReader(db);
  }

  /** Opens (creating if needed) a database to write, at the latest schema. */
  static open(path: string): Store {
    return new Store(openDatabase(path));
  }

  close(): void {
    this.db.close();
  }

  /** Stores one load sweep and its levels; returns the sweep's id. */
  saveSweep(record: SweepRecord, options: SweepOptions, results: readonly LevelResult[]): number {
    return saveSweep(this.db, record, options, results);
  }

  /** Drops every kept digest (the bench times a read from the rows). */
  dropDigests(): void {
    this.db.prepare("DELETE FROM variant_facts").run();
  }

  createRun(run: NewRun): number {
    const p = run.provenance;
    const info = this.db
      .prepare(
        `INSERT INTO runs (plan_name, plan_file, plan_hash, plan_json, status, started_at,
           qbench_version, node_version, host, platform, cpu, cpu_cores, memory_bytes, gpu,
           gpu_driver, git_commit, git_dirty, shard_index, shard_count, writer)
         VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run.planName,
        run.planFile,
        run.planHash,
        run.planJson,
        now(),
        p.qbenchVersion,
        p.nodeVersion,
        p.host,
        p.platform,
        p.cpu,
        p.cpuCores,
        p.memoryBytes,
        p.gpu,
        p.gpuDriver,
        p.gitCommit,
        p.gitDirty === null ? null : Number(p.gitDirty),
        run.shard?.index ?? 0,
        run.shard?.count ?? 1,
        run.writer ?? null,
      );
    return Number(info.lastInsertRowid);
  }

  /** The newest run of this plan (same hash) and shard, to resume. */
  latestRun(
    planHash: string,
    shard = { index: 0, count: 1 },
  ): { id: number; status: string } | undefined {
    return this.db
      .prepare(
        `SELECT id, status FROM runs WHERE plan_hash = ? AND shard_index = ? AND shard_count = ?
         ORDER BY id DESC LIMIT 1`,
      )
      .get(planHash, shard.index, shard.count) as { id: number; status: string } | undefined;
  }

  /**
   * Takes a run over to resume it, unless a live process still writes it: then returns that
   * writer (`pid@host`) and changes nothing. `isAlive` says whether a writer still runs.
   */
  claimRun(
    runId: number,
    writer: string,
    isAlive: (writer: string) => boolean,
  ): string | undefined {
    const claim = this.db.transaction(() => {
      const row = this.db.prepare("SELECT status, writer FROM runs WHERE id = ?").get(runId) as
        | { status: string; writer: string | null }
        | undefined;
      if (row?.status === "running" && row.writer && row.writer !== writer && isAlive(row.writer))
        return row.writer;
      this.db
        .prepare(
          "UPDATE runs SET status = 'running', finished_at = NULL, resumed_count = resumed_count + 1, writer = ? WHERE id = ?",
        )
        .run(writer, runId);
      return undefined;
    });
    return claim.immediate();
  }

  finishRun(runId: number, status: "complete" | "failed"): void {
    this.db
      .prepare("UPDATE runs SET status = ?, finished_at = ?, writer = NULL WHERE id = ?")
      .run(status, now(), runId);
  }

  /** Marks a run stopped part-way (a signal, a full disk), and each variant it was running. */
  interruptRun(runId: number): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          "UPDATE runs SET status = 'interrupted', finished_at = ?, writer = NULL WHERE id = ?",
        )
        .run(now(), runId);
      this.db
        .prepare(
          "UPDATE variants SET status = 'interrupted' WHERE run_id = ? AND status = 'running'",
        )
        .run(runId);
    })();
  }

  /** Results stored for a run so far, failed ones included. */
  countResults(runId: number): number {
    return (
      this.db
        .prepare(
          "SELECT COUNT(*) AS n FROM results WHERE variant_id IN (SELECT id FROM variants WHERE run_id = ?)",
        )
        .get(runId) as { n: number }
    ).n;
  }

  addSuite(
    runId: number,
    suite: { id: string; file: string; description: string; hash: string; metrics: unknown },
  ): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO suites (run_id, suite_id, file, description, hash, metrics)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(
        runId,
        suite.id,
        suite.file,
        suite.description,
        suite.hash,
        JSON.stringify(suite.metrics),
      );
  }

  addItems(
    runId: number,
    suiteId: string,
    items: ReadonlyArray<{
      id: string;
      prompt: string;
      reference: string | undefined;
      ordinal?: number;
    }>,
  ): void {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO items (run_id, suite_id, item_id, ordinal, prompt, reference)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      items.forEach((item, i) => {
        insert.run(runId, suiteId, item.id, item.ordinal ?? i, item.prompt, item.reference ?? null);
      });
    })();
  }

  /** Finds or creates the variant row of a run (a resumed run keeps its variants). */
  upsertVariant(runId: number, v: NewVariant): VariantRow {
    const existing = this.db
      .prepare("SELECT id, name, status FROM variants WHERE run_id = ? AND name = ?")
      .get(runId, v.name) as VariantRow | undefined;
    if (existing) return existing;
    const info = this.db
      .prepare(
        `INSERT INTO variants (run_id, name, precision, is_baseline, model_path, model_sha256,
           model_bytes, architecture, parameter_count, bits_per_weight, tensor_types,
           backend_requested, runner, threads, context_size)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        runId,
        v.name,
        v.precision,
        Number(v.isBaseline),
        v.modelPath,
        v.modelSha256,
        v.modelBytes,
        v.architecture,
        v.parameterCount,
        v.bitsPerWeight,
        JSON.stringify(v.tensorTypes),
        v.backendRequested,
        v.runner,
        v.threads,
        v.contextSize,
      );
    return { id: Number(info.lastInsertRowid), name: v.name, status: "pending" };
  }

  updateVariant(variantId: number, fields: Partial<VariantUpdate>): void {
    const entries = Object.entries(fields).filter(([key]) => key in VARIANT_UPDATE_COLUMNS);
    if (entries.length === 0) return;
    const set = entries
      .map(([key]) => `${VARIANT_UPDATE_COLUMNS[key as keyof VariantUpdate]} = ?`)
      .join(", ");
    this.db
      .prepare(`UPDATE variants SET ${set} WHERE id = ?`)
      .run(...entries.map(([, value]) => value ?? null), variantId);
  }

  /** Keys (`suite\u0000item\u0000repeat`) of results already stored successfully. */
  finishedKeys(variantId: number): Set<string> {
    const rows = this.db
      .prepare(
        "SELECT suite_id, item_id, repeat FROM results WHERE variant_id = ? AND status = 'ok'",
      )
      .all(variantId) as Array<{ suite_id: string; item_id: string; repeat: number }>;
    return new Set(rows.map((r) => resultKey(r.suite_id, r.item_id, r.repeat)));
  }

  /** Stores one finished item with its metrics in one transaction; a retried item replaces its error row. */
  recordResult(variantId: number, r: ResultRow): void {
    const write = this.db.transaction(() => {
      this.db
        .prepare(
          "DELETE FROM results WHERE variant_id = ? AND suite_id = ? AND item_id = ? AND repeat = ? AND status = 'error'",
        )
        .run(variantId, r.suiteId, r.itemId, r.repeat);
      const info = this.db
        .prepare(
          `INSERT INTO results (variant_id, suite_id, item_id, repeat, status, output, error,
             error_kind, stderr_tail, prompt_tokens, completion_tokens, ttft_ms, tokenize_ms,
             decode_ms, total_ms, ipc_ms, finish_reason, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          variantId,
          r.suiteId,
          r.itemId,
          r.repeat,
          r.status,
          r.output ?? null,
          r.error ?? null,
          r.errorKind ?? null,
          r.stderrTail ?? null,
          r.promptTokens ?? null,
          r.completionTokens ?? null,
          r.ttftMs ?? null,
          r.tokenizeMs ?? null,
          r.decodeMs ?? null,
          r.totalMs ?? null,
          r.ipcMs ?? null,
          r.finishReason ?? null,
          now(),
        );
      const insertMetric = this.db.prepare(
        "INSERT INTO metrics (result_id, name, value) VALUES (?, ?, ?)",
      );
      for (const [name, value] of Object.entries(r.metrics)) {
        if (Number.isFinite(value)) insertMetric.run(info.lastInsertRowid, name, value);
      }
      if (r.tokens) this.insertTokenScores(Number(info.lastInsertRowid), r.tokens);
    });
    write.immediate();
  }

  private insertTokenScores(resultId: number, t: TokenScores): void {
    this.db
      .prepare(
        `INSERT INTO token_scores (result_id, tokens_hash, logprobs, topk_counts, topk_ids,
           topk_logprobs, kld, same_top) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        resultId,
        t.tokensHash,
        blob(t.logprobs),
        t.topk ? blob(t.topk.counts) : null,
        t.topk ? blob(t.topk.ids) : null,
        t.topk ? blob(t.topk.logprobs) : null,
        t.kld ? blob(t.kld) : null,
        t.sameTop ? blob(t.sameTop) : null,
      );
  }

  /** A suite this variant's engine cannot measure, with the reason (not a failure). */
  addSkip(variantId: number, suiteId: string, reason: string): void {
    this.db
      .prepare(
        "INSERT OR REPLACE INTO variant_skips (variant_id, suite_id, reason) VALUES (?, ?, ?)",
      )
      .run(variantId, suiteId, reason);
  }

  /** Repeats of fixed-shape runs already stored for a variant, keyed `p/n/d/repeat`. */
  finishedPerf(variantId: number): Set<string> {
    const rows = this.db
      .prepare(
        "SELECT prompt_tokens, generate_tokens, depth, repeat FROM perf_results WHERE variant_id = ?",
      )
      .all(variantId) as Array<{
      prompt_tokens: number;
      generate_tokens: number;
      depth: number;
      repeat: number;
    }>;
    return new Set(
      rows.map((r) => `${r.prompt_tokens}/${r.generate_tokens}/${r.depth}/${r.repeat}`),
    );
  }

  recordPerf(
    variantId: number,
    r: {
      promptTokens: number;
      generateTokens: number;
      depth: number;
      repeat: number;
      prefillMs: number;
      decodeMs: number;
      generated: number;
      ipcMs: number;
    },
  ): void {
    this.db
      .prepare(
        `INSERT INTO perf_results (variant_id, prompt_tokens, generate_tokens, depth, repeat, prefill_ms,
           decode_ms, generated, ipc_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        variantId,
        r.promptTokens,
        r.generateTokens,
        r.depth,
        r.repeat,
        r.prefillMs,
        r.decodeMs,
        r.generated,
        r.ipcMs,
        now(),
      );
  }

  /** The baseline's stored top-K for one perplexity item of a run, if it has one. */
  baselineTokens(
    runId: number,
    suiteId: string,
    itemId: string,
  ): { tokensHash: string; logprobs: Float32Array; topk: TokenScores["topk"] } | undefined {
    const row = this.db
      .prepare(
        `SELECT t.tokens_hash, t.logprobs, t.topk_counts, t.topk_ids, t.topk_logprobs
         FROM token_scores t JOIN results r ON r.id = t.result_id JOIN variants v ON v.id = r.variant_id
         WHERE v.run_id = ? AND v.is_baseline = 1 AND r.suite_id = ? AND r.item_id = ? AND r.status = 'ok'`,
      )
      .get(runId, suiteId, itemId) as
      | {
          tokens_hash: string;
          logprobs: Buffer;
          topk_counts: Buffer | null;
          topk_ids: Buffer | null;
          topk_logprobs: Buffer | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      tokensHash: row.tokens_hash,
      logprobs: typed(row.logprobs, Float32Array),
      topk:
        row.topk_counts && row.topk_ids && row.topk_logprobs
          ? {
              counts: typed(row.topk_counts, Uint16Array),
              ids: typed(row.topk_ids, Int32Array),
              logprobs: typed(row.topk_logprobs, Float32Array),
            }
          : undefined,
    };
  }
}

export function resultKey(suiteId: string, itemId: string, repeat: number): string {
  return `${suiteId}\u0000${itemId}\u0000${repeat}`;
}
