import { aggregateRun } from "./aggregate.js";
import type { Db } from "./database.js";
import { factsOf } from "./read-facts.js";
import { completeRuns, readRun } from "./read-run.js";
import type { RunAggregate, RunFacts, RunRecord } from "./records.js";
import { type ReviewRecord, readReviews } from "./reviews.js";
import { readSweepLevels, type SweepLevel } from "./sweeps.js";

/** The texts of one item the report shows where variants disagree, looked up only for those. */
export interface ItemTexts {
  item(suite: string, item: string): { prompt: string; reference: string | null } | undefined;
  /** A variant's output on an item: its first ok repeat, else its first failed one. */
  output(
    variantId: number,
    suite: string,
    item: string,
  ): { status: string; output: string | null; error: string | null } | undefined;
}

/** Everything a report of one run is made from. */
export interface ReportInput {
  run: RunRecord;
  facts: RunFacts;
  /** Perplexity's per-chunk parts per variant × suite (the other metrics come from `facts`). */
  aggregate: RunAggregate;
  /** The earlier complete runs of the same plan, oldest first, with their headline metrics. */
  past: RunAggregate[];
  sweeps: SweepLevel[];
  texts: ItemTexts;
  /** People's reviews of the run's outputs (`qbench view`), carried-over ones included. */
  reviews: ReviewRecord[];
}

/** Reads a report's input; `texts` reads the database, so use it before closing it. */
export function readReportInput(db: Db, runId: number, historyRuns = 10): ReportInput {
  const run = readRun(db, runId);
  const facts = factsOf(db, run);
  const itemRow = db.prepare(
    "SELECT prompt, reference FROM items WHERE run_id = ? AND suite_id = ? AND item_id = ?",
  );
  const outputRow = db.prepare(
    `SELECT status, output, error FROM results WHERE variant_id = ? AND suite_id = ? AND item_id = ?
     ORDER BY status = 'ok' DESC, repeat LIMIT 1`,
  );
  return {
    run,
    facts,
    aggregate: aggregateRun(db, run, "perplexity"),
    past: completeRuns(db, run.planName, historyRuns, run.id).map((id) =>
      aggregateRun(db, readRun(db, id), "headline"),
    ),
    sweeps: readSweepLevels(db, run.id),
    reviews: readReviews(db, run.id),
    texts: {
      item: (suite, item) =>
        itemRow.get(runId, suite, item) as { prompt: string; reference: string | null } | undefined,
      output: (variantId, suite, item) =>
        outputRow.get(variantId, suite, item) as
          | { status: string; output: string | null; error: string | null }
          | undefined,
    },
  };
}
