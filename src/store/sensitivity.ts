import type { Db } from "./database.js";

/** What a sensitivity or mix command measured, as the store records it. */
export interface SensitivityRunRow {
  command: "sensitivity" | "mix";
  model: string;
  modelSha256: string;
  modelBytes: number;
  text: string;
  textSha256: string;
  grouping: "layer" | "tensor" | "role";
  mode: "only" | "except";
  ctx: number;
  chunks: number;
  scoredTokens: number;
  kldMethod: "exact" | "top-k";
  topK: number | null;
  baselineMassCovered: number | null;
  baselinePpl: number;
  imatrix: string | null;
  backend: string;
  host: string;
  startedAt: string;
  seconds: number;
  baselineSeconds: number;
}

/** One variant's figures against the source, as a group's row keeps them. */
export interface GroupFigures {
  /** Mean KL(source ‖ variant) per scored token, and its standard error. */
  meanKld: number;
  meanKldError: number;
  p99Kld: number;
  sameTopPct: number;
  ppl: number;
  pplRatio: number;
  pplRatioError: number;
}

export interface SensitivityGroupRow extends GroupFigures {
  type: string;
  groupName: string;
  layer: number | null;
  role: string | null;
  tensors: number;
  quantizedWeights: number;
  quantizeSeconds: number;
  passSeconds: number;
  reused: boolean;
  rank: number;
}

/** Stores one sensitivity run and its groups in one transaction; returns the run's id. */
export function recordSensitivity(
  db: Db,
  run: SensitivityRunRow,
  groups: readonly SensitivityGroupRow[],
): number {
  const insertRun = db.prepare(`INSERT INTO sensitivity_runs (command, model, model_sha256,
    model_bytes, text, text_sha256, grouping, mode, ctx, chunks, scored_tokens, kld_method,
    kld_is_bound, top_k, baseline_mass_covered, baseline_ppl, imatrix, backend, host, started_at,
    seconds, baseline_seconds) VALUES (@command, @model, @modelSha256, @modelBytes, @text,
    @textSha256, @grouping, @mode, @ctx, @chunks, @scoredTokens, @kldMethod, @kldIsBound, @topK,
    @baselineMassCovered, @baselinePpl, @imatrix, @backend, @host, @startedAt, @seconds,
    @baselineSeconds)`);
  const insertGroup = db.prepare(`INSERT INTO sensitivity_groups (sensitivity_id, type,
    group_name, layer, role, tensors, quantized_weights, mean_kld, mean_kld_error, p99_kld,
    same_top_pct, ppl, ppl_ratio, ppl_ratio_error, quantize_seconds, pass_seconds, reused, rank)
    VALUES (@id, @type, @groupName, @layer, @role, @tensors, @quantizedWeights, @meanKld,
    @meanKldError, @p99Kld, @sameTopPct, @ppl, @pplRatio, @pplRatioError, @quantizeSeconds,
    @passSeconds, @reused, @rank)`);
  return db.transaction(() => {
    const id = Number(
      insertRun.run({ ...run, kldIsBound: run.kldMethod === "top-k" ? 1 : 0 }).lastInsertRowid,
    );
    for (const g of groups) insertGroup.run({ ...g, id, reused: g.reused ? 1 : 0 });
    return id;
  })();
}

/** A stored sensitivity run's groups, most sensitive first per type. */
export function readSensitivityGroups(db: Db, id: number): SensitivityGroupRow[] {
  const rows = db
    .prepare(`SELECT type, group_name AS groupName, layer, role, tensors,
      quantized_weights AS quantizedWeights, mean_kld AS meanKld, mean_kld_error AS meanKldError,
      p99_kld AS p99Kld, same_top_pct AS sameTopPct, ppl, ppl_ratio AS pplRatio,
      ppl_ratio_error AS pplRatioError, quantize_seconds AS quantizeSeconds,
      pass_seconds AS passSeconds, reused, rank
      FROM sensitivity_groups WHERE sensitivity_id = ? ORDER BY type, rank`)
    .all(id) as Array<Omit<SensitivityGroupRow, "reused"> & { reused: number }>;
  return rows.map((r) => ({ ...r, reused: r.reused === 1 }));
}
