import { type AggregateScope, aggregateRun } from "./aggregate.js";
import type { Db } from "./database.js";
import { listRuns, type RunListing } from "./list-runs.js";
import { openForReading } from "./open-read.js";
import { READER, readRunFacts } from "./read-facts.js";
import { type ReportInput, readReportInput } from "./read-report.js";
import { completeRuns, countRows, findRun, readRun } from "./read-run.js";
import type { RunAggregate, RunFacts, RunHead, RunRecord } from "./records.js";
import { type ReviewRecord, readReviews } from "./reviews.js";

/**
 * The store's read side: typed records of stored runs. Opened on its own it is read-only and
 * computes digests in memory; the writer's (`Store.read`) keeps the digests it computes.
 */
export class StoreReader {
  constructor(private readonly db: Db) {}

  /** Opens an existing database read-only (never creates one); `missing` says why there is none. */
  static open(path: string, missing?: string): StoreReader {
    return new StoreReader(openForReading(path, missing));
  }

  /** The run named, else the newest; undefined when there is none. */
  findRun(runId?: number): RunHead | undefined {
    return findRun(this.db, runId);
  }

  /** Ids of the newest `limit` complete runs of a plan before run `before`, oldest first. */
  completeRuns(planName: string, limit: number, before?: number): number[] {
    return completeRuns(this.db, planName, limit, before);
  }

  /** The newest `limit` runs, newest first. */
  listRuns(limit = 200): RunListing[] {
    return listRuns(this.db, limit);
  }

  run(runId: number): RunRecord {
    return readRun(this.db, runId);
  }

  /** The per-item facts the verdict judges, from a valid digest or from the rows. */
  facts(runId: number, reader = READER): RunFacts {
    return readRunFacts(this.db, runId, reader);
  }

  /** The run's results per variant × suite. */
  aggregate(runId: number, scope?: AggregateScope): RunAggregate {
    return aggregateRun(this.db, readRun(this.db, runId), scope);
  }

  /** A report's input: its texts read this database, so build the report before closing it. */
  report(runId: number, historyRuns?: number): ReportInput {
    return readReportInput(this.db, runId, historyRuns);
  }

  /** The reviews that count for a run's outputs: made on it, or carried over (see reviews.ts). */
  reviews(runId: number): ReviewRecord[] {
    return readReviews(this.db, runId);
  }

  countRows(): { runs: number; results: number; metrics: number } {
    return countRows(this.db);
  }

  close(): void {
    this.db.close();
  }
}
