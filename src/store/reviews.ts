import { InputError } from "../errors.js";
import { type Db, openDatabase } from "./database.js";

/** A person's judgement of one output. */
export const REVIEW_VERDICTS = ["acceptable", "not-acceptable", "unsure"] as const;
export type ReviewVerdict = (typeof REVIEW_VERDICTS)[number];

/** The review that counts for one (variant, suite, item) of a run: made on it, or carried over. */
export interface ReviewRecord {
  id: number;
  /** The run the review was made on: this run, or an earlier one whose output was the same text. */
  madeOnRun: number;
  carried: boolean;
  variant: string;
  suite: string;
  item: string;
  verdict: ReviewVerdict;
  note: string;
  reviewer: string;
  createdAt: string;
}

export interface NewReview {
  runId: number;
  variant: string;
  suite: string;
  item: string;
  verdict: ReviewVerdict;
  note: string;
  reviewer: string;
}

/** The output a review judges: the first ok repeat's text (the one the report shows). */
const OUTPUT_OF = `(SELECT r.output FROM results r
   WHERE r.variant_id = v.id AND r.suite_id = i.suite_id AND r.item_id = i.item_id
   ORDER BY r.status = 'ok' DESC, r.repeat LIMIT 1)`;

/**
 * Reviews made on this run, and reviews of earlier runs of the same variant name on the same
 * item (same prompt and reference) whose judged output is exactly this run's output text.
 */
const EFFECTIVE = `SELECT rv.id, rv.run_id AS madeOnRun, rv.run_id <> v.run_id AS carried,
    v.name AS variant, rv.suite_id AS suite, rv.item_id AS item, rv.verdict, rv.note, rv.reviewer,
    rv.created_at AS createdAt
  FROM reviews rv
  JOIN variants v ON v.run_id = @run AND v.name = rv.variant
  JOIN items i ON i.run_id = @run AND i.suite_id = rv.suite_id AND i.item_id = rv.item_id
  WHERE rv.run_id = @run AND rv.variant_id = v.id
     OR rv.run_id < @run AND rv.prompt = i.prompt AND rv.reference IS i.reference
        AND rv.output IS NOT NULL AND rv.output = ${OUTPUT_OF}
  ORDER BY rv.run_id = @run, rv.id`;

const hasReviews = (db: Db) =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reviews'").get() !==
  undefined;

/**
 * The review that counts per (variant, suite, item) of a run: the newest made on the run, else
 * the newest carried over. A database from before migration 011 has none.
 */
export function readReviews(db: Db, runId: number): ReviewRecord[] {
  if (!hasReviews(db)) return [];
  const rows = db.prepare(EFFECTIVE).all({ run: runId }) as Array<
    Omit<ReviewRecord, "carried"> & { carried: number }
  >;
  // Carried rows first, then this run's, each oldest first: the last one written per key wins.
  const byKey = new Map<string, ReviewRecord>();
  for (const row of rows) {
    byKey.set(`${row.variant}\u0000${row.suite}\u0000${row.item}`, {
      ...row,
      carried: row.carried === 1,
    });
  }
  return [...byKey.values()].sort((a, b) => a.id - b.id);
}

/**
 * The one writer `qbench view` has: its own connection, on which every table but `reviews` is
 * guarded by temporary triggers (they live in that connection's temp schema, never in the file),
 * and `reviews` takes inserts only. Reads go through a read-only StoreReader.
 */
export class ReviewWriter {
  private constructor(private readonly db: Db) {}

  /** Opens the database for reviews (bringing its schema up to date), then guards it. */
  static open(path: string): ReviewWriter {
    const db = openDatabase(path);
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
      )
      .all() as Array<{ name: string }>;
    for (const { name } of tables) {
      const events = name === "reviews" ? ["UPDATE", "DELETE"] : ["INSERT", "UPDATE", "DELETE"];
      for (const event of events) {
        const quoted = `"${name.replace(/"/g, '""')}"`;
        db.exec(
          `CREATE TEMP TRIGGER "qbench_view_guard_${event}_${name.replace(/\W/g, "_")}" BEFORE ${event} ON main.${quoted}
           BEGIN SELECT RAISE(ABORT, 'qbench view writes nothing but new reviews'); END`,
        );
      }
    }
    return new ReviewWriter(db);
  }

  /** Stores a review of the output as it is in the database now (never text sent by a client). */
  add(review: NewReview): ReviewRecord {
    const target = this.db
      .prepare(
        `SELECT v.id AS variantId, i.prompt, i.reference, ${OUTPUT_OF} AS output
         FROM variants v JOIN items i ON i.run_id = v.run_id
         WHERE v.run_id = ? AND v.name = ? AND i.suite_id = ? AND i.item_id = ?`,
      )
      .get(review.runId, review.variant, review.suite, review.item) as
      | { variantId: number; prompt: string; reference: string | null; output: string | null }
      | undefined;
    if (!target) {
      throw new InputError(
        "BAD_INPUT",
        `run ${review.runId} has no item ${review.suite}/${review.item} for a variant named ${review.variant}`,
      );
    }
    const createdAt = new Date().toISOString();
    const { lastInsertRowid } = this.db
      .prepare(
        `INSERT INTO reviews (run_id, variant_id, variant, suite_id, item_id, output, prompt,
           reference, verdict, note, reviewer, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        review.runId,
        target.variantId,
        review.variant,
        review.suite,
        review.item,
        target.output,
        target.prompt,
        target.reference,
        review.verdict,
        review.note,
        review.reviewer,
        createdAt,
      );
    return {
      id: Number(lastInsertRowid),
      madeOnRun: review.runId,
      carried: false,
      variant: review.variant,
      suite: review.suite,
      item: review.item,
      verdict: review.verdict,
      note: review.note,
      reviewer: review.reviewer,
      createdAt,
    };
  }

  close(): void {
    this.db.close();
  }
}
