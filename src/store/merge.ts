import { existsSync, rmSync } from "node:fs";
import { basename } from "node:path";
import Database from "better-sqlite3";
import { InputError } from "../errors.js";
import { openDatabase } from "./database.js";
import { readRunFacts } from "./read-facts.js";

interface ShardRun {
  file: string;
  id: number;
  planHash: string;
  status: string;
  index: number;
  count: number;
  /** name → model sha256 */
  variants: Map<string, string>;
  /** suite\u0000item keys */
  items: string[];
}

const RUN_COLUMNS =
  "plan_name, plan_file, plan_hash, plan_json, started_at, qbench_version, node_version, host, platform, cpu, cpu_cores, memory_bytes, gpu, gpu_driver, git_commit, git_dirty";
const VARIANT_COLUMNS =
  "name, precision, is_baseline, model_path, model_sha256, model_bytes, architecture, parameter_count, bits_per_weight, tensor_types, backend_requested, backend, device, runner, runner_version, engine, threads, context_size, load_ms";
const RESULT_COLUMNS =
  "suite_id, item_id, repeat, status, output, error, error_kind, stderr_tail, prompt_tokens, completion_tokens, ttft_ms, tokenize_ms, decode_ms, total_ms, ipc_ms, finish_reason, created_at";

/** Reads what the checks need from a shard's newest run, through its own read-only connection. */
function readShard(file: string): ShardRun {
  if (!existsSync(file)) throw new InputError("BAD_INPUT", "no such database", { location: file });
  const db = new Database(file, { readonly: true });
  try {
    const run = db
      .prepare(
        "SELECT id, plan_hash, status, shard_index, shard_count FROM runs ORDER BY id DESC LIMIT 1",
      )
      .get() as
      | { id: number; plan_hash: string; status: string; shard_index: number; shard_count: number }
      | undefined;
    if (!run) throw new InputError("BAD_INPUT", "the database has no runs", { location: file });
    const variants = db
      .prepare("SELECT name, model_sha256 FROM variants WHERE run_id = ?")
      .all(run.id) as Array<{
      name: string;
      model_sha256: string;
    }>;
    const items = db
      .prepare("SELECT suite_id, item_id FROM items WHERE run_id = ?")
      .all(run.id) as Array<{
      suite_id: string;
      item_id: string;
    }>;
    return {
      file,
      id: run.id,
      planHash: run.plan_hash,
      status: run.status,
      index: run.shard_index,
      count: run.shard_count,
      variants: new Map(variants.map((v) => [v.name, v.model_sha256])),
      items: items.map((i) => `${i.suite_id}\u0000${i.item_id}`),
    };
  } finally {
    db.close();
  }
}

/** Checks that the shards are one plan's complete, non-overlapping slices 1…n with the same models. */
export function checkShards(shards: readonly ShardRun[]): void {
  const first = shards[0];
  if (!first) throw new InputError("BAD_USAGE", "name the shard databases to merge");
  const name = (s: ShardRun) => basename(s.file);
  for (const s of shards) {
    if (s.planHash !== first.planHash) {
      throw new InputError(
        "BAD_INPUT",
        `${name(s)} ran a different plan from ${name(first)} (plan hashes differ)`,
      );
    }
    if (s.count !== first.count) {
      throw new InputError(
        "BAD_INPUT",
        `${name(s)} is shard ${s.index + 1}/${s.count}, ${name(first)} is of ${first.count}`,
      );
    }
    if (s.status !== "complete") {
      throw new InputError(
        "BAD_INPUT",
        `shard ${s.index + 1}/${s.count} did not complete (${s.status}): finish it with qbench run --resume`,
        { location: s.file },
      );
    }
    for (const [variant, sha] of s.variants) {
      if (first.variants.get(variant) !== sha) {
        throw new InputError(
          "BAD_INPUT",
          `variant ${variant} differs between ${name(first)} and ${name(s)} (missing or another model file)`,
        );
      }
    }
  }
  const bySlice = new Map<number, ShardRun>();
  for (const s of shards) {
    const other = bySlice.get(s.index);
    if (other)
      throw new InputError(
        "BAD_INPUT",
        `overlap: ${name(other)} and ${name(s)} are both shard ${s.index + 1}/${s.count}`,
      );
    bySlice.set(s.index, s);
  }
  const missing = Array.from({ length: first.count }, (_, i) => i).filter((i) => !bySlice.has(i));
  if (missing.length > 0) {
    throw new InputError(
      "BAD_INPUT",
      `gap: shard ${missing.map((i) => `${i + 1}/${first.count}`).join(", ")} missing`,
    );
  }
  const owner = new Map<string, ShardRun>();
  for (const s of shards) {
    for (const item of s.items) {
      const other = owner.get(item);
      if (other) {
        throw new InputError(
          "BAD_INPUT",
          `overlap: item ${item.replace("\u0000", "/")} is in both ${name(other)} and ${name(s)}`,
        );
      }
      owner.set(item, s);
    }
  }
}

/**
 * Joins the shard databases of one plan into a new database holding one run, as if the plan had
 * run unsharded: the same items, scores and so the same verdicts.
 */
export function mergeShards(
  files: readonly string[],
  out: string,
): { runId: number; shards: number; results: number } {
  const shards = files.map(readShard).sort((a, b) => a.index - b.index);
  checkShards(shards);
  if (existsSync(out))
    throw new InputError("BAD_USAGE", "the output database exists; choose a new file", {
      location: out,
    });
  const db = openDatabase(out);
  try {
    // Copies go through exec() with our own integer ids inlined: a prepared statement that
    // touched the attached file would keep it locked and DETACH would fail.
    const copy = (file: string, sql: string) => {
      db.prepare("ATTACH DATABASE ? AS s").run(file);
      try {
        db.exec(`BEGIN; ${sql}; COMMIT;`);
      } catch (error) {
        if (db.inTransaction) db.exec("ROLLBACK");
        throw error;
      } finally {
        db.exec("DETACH DATABASE s");
      }
    };
    const first = shards[0] as ShardRun;
    copy(
      first.file,
      `INSERT INTO runs (${RUN_COLUMNS}, status, shard_index, shard_count)
         SELECT ${RUN_COLUMNS}, 'complete', 0, 1 FROM s.runs WHERE id = ${first.id};
       INSERT INTO variants (run_id, ${VARIANT_COLUMNS})
         SELECT last_insert_rowid(), ${VARIANT_COLUMNS} FROM s.variants WHERE run_id = ${first.id} ORDER BY id;
       INSERT INTO suites SELECT (SELECT MAX(id) FROM main.runs), suite_id, file, description, hash, metrics
         FROM s.suites WHERE run_id = ${first.id}`,
    );
    const runId = (db.prepare("SELECT MAX(id) AS id FROM runs").get() as { id: number }).id;
    for (const shard of shards) {
      const offset = (
        db.prepare("SELECT COALESCE(MAX(id), 0) AS n FROM results").get() as { n: number }
      ).n;
      const rows = `(SELECT r.* FROM s.results r JOIN s.variants sv ON sv.id = r.variant_id WHERE sv.run_id = ${shard.id})`;
      const from = (column: string) =>
        `(SELECT sv.${column} FROM s.variants sv WHERE sv.run_id = ${shard.id} AND sv.name = main.variants.name)`;
      copy(
        shard.file,
        `INSERT INTO items SELECT ${runId}, suite_id, item_id, ordinal, prompt, reference FROM s.items WHERE run_id = ${shard.id};
         INSERT INTO results (id, variant_id, ${RESULT_COLUMNS})
           SELECT r.id + ${offset}, mv.id, ${RESULT_COLUMNS.split(", ")
             .map((c) => `r.${c}`)
             .join(", ")}
           FROM ${rows} r JOIN s.variants sv ON sv.id = r.variant_id
           JOIN main.variants mv ON mv.run_id = ${runId} AND mv.name = sv.name;
         INSERT INTO metrics SELECT m.result_id + ${offset}, m.name, m.value FROM s.metrics m JOIN ${rows} r ON r.id = m.result_id;
         INSERT INTO token_scores SELECT t.result_id + ${offset}, t.tokens_hash, t.logprobs, t.topk_counts, t.topk_ids,
           t.topk_logprobs, t.kld, t.same_top FROM s.token_scores t JOIN ${rows} r ON r.id = t.result_id;
         UPDATE main.variants SET
           status = CASE WHEN status = 'failed' THEN 'failed' ELSE ${from("status")} END,
           error = COALESCE(error, ${from("error")}),
           stderr_tail = COALESCE(stderr_tail, ${from("stderr_tail")}),
           peak_rss_bytes = MAX(COALESCE(peak_rss_bytes, 0), COALESCE(${from("peak_rss_bytes")}, 0)),
           engine_device_bytes = MAX(COALESCE(engine_device_bytes, 0), COALESCE(${from("engine_device_bytes")}, 0))
         WHERE run_id = ${runId}`,
      );
    }
    db.prepare(
      "UPDATE variants SET peak_rss_bytes = NULLIF(peak_rss_bytes, 0), engine_device_bytes = NULLIF(engine_device_bytes, 0) WHERE run_id = ?",
    ).run(runId);
    db.prepare("UPDATE runs SET finished_at = ?, merged_from = ? WHERE id = ?").run(
      new Date().toISOString(),
      JSON.stringify(
        shards.map((s) => ({ file: s.file, run: s.id, shard: `${s.index + 1}/${s.count}` })),
      ),
      runId,
    );
    const results = (db.prepare("SELECT COUNT(*) AS n FROM results").get() as { n: number }).n;
    // Keep the merged run's digests, as a run does at its end: the read commands write none.
    readRunFacts(db, runId);
    db.close();
    return { runId, shards: shards.length, results };
  } catch (error) {
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${out}${suffix}`, { force: true });
    throw error;
  }
}
