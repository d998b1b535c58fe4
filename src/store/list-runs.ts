import type { Db } from "./database.js";

/** One line of a database's run list. */
export interface RunListing {
  id: number;
  planName: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  gitCommit: string | null;
  gitDirty: boolean | null;
  host: string;
  variants: number;
}

/** The newest `limit` runs, newest first. */
export function listRuns(db: Db, limit: number): RunListing[] {
  const rows = db
    .prepare(
      `SELECT r.id, r.plan_name AS planName, r.status, r.started_at AS startedAt,
         r.finished_at AS finishedAt, r.git_commit AS gitCommit, r.git_dirty AS gitDirty, r.host,
         (SELECT COUNT(*) FROM variants v WHERE v.run_id = r.id) AS variants
       FROM runs r ORDER BY r.id DESC LIMIT ?`,
    )
    .all(Math.max(0, limit)) as Array<Omit<RunListing, "gitDirty"> & { gitDirty: number | null }>;
  return rows.map((r) => ({ ...r, gitDirty: r.gitDirty === null ? null : r.gitDirty === 1 }));
}
