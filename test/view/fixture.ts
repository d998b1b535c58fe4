import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { qbench, writeFiles } from "../support/cli.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

/** Gates that judge nothing but reviews: the quality and length gates are off. */
export const REVIEW_ONLY_GATES = [
  "gates:",
  "  length: false",
  "  metrics:",
  "    - { metric: exact_match, ignore: true }",
  "    - { metric: rouge1_f1, ignore: true }",
  "    - { metric: rougeL_f1, ignore: true }",
];

/** A plan file holding only `gates:` (what `qbench gate --plan` reads), with `extra` lines in it. */
export function writeGatesPlan(dir: string, name: string, extra: string[]): string {
  writeFiles(dir, { [name]: `${[...REVIEW_ONLY_GATES, ...extra].join("\n")}\n` });
  return join(dir, name);
}

/**
 * Real runs of fp16 and q8_0 on stories260K over a 10-item cloze suite, under review-only gates;
 * then, in the stored rows, the variant regresses on `regressed` items (the baseline right, q8_0 wrong on
 * exact match), with `outputs` as its texts there when given.
 */
export async function writeReviewedRuns(
  dir: string,
  options: {
    runs?: number;
    regressed: string[];
    outputs?: string[];
    /** The variant's name and model file (default q8_0 and stories260K-q8_0.gguf). */
    variant?: { name: string; file: string };
  },
): Promise<string> {
  const variant = options.variant ?? { name: "q8_0", file: "stories260K-q8_0.gguf" };
  const plan = writePlan(
    dir,
    [{ name: "fp16" }, variant],
    [writeClozeSuite(dir, 10)],
    REVIEW_ONLY_GATES.join("\n"),
  );
  const file = join(dir, "runs.db");
  for (let i = 0; i < (options.runs ?? 1); i++) {
    const run = await qbench(["run", plan, "--db", file, "--quiet", "--no-report"]);
    assert.equal(run.exitCode, 0, run.stderr);
  }
  const db = new Database(file);
  try {
    const set = db.prepare(
      `UPDATE metrics SET value = ? WHERE name = 'exact_match' AND result_id IN (
         SELECT r.id FROM results r JOIN variants v ON v.id = r.variant_id
         WHERE v.name = ? AND r.suite_id = 'cloze' AND r.item_id = ?)`,
    );
    const output = db.prepare(
      `UPDATE results SET output = ? WHERE suite_id = 'cloze' AND item_id = ? AND variant_id IN (
         SELECT id FROM variants WHERE name = ?)`,
    );
    // Every other item agrees: both right.
    for (let i = 1; i <= 10; i++) {
      set.run(1, "fp16", `q${i}`);
      set.run(1, variant.name, `q${i}`);
    }
    options.regressed.forEach((item, i) => {
      set.run(0, variant.name, item);
      const text = options.outputs?.[i % options.outputs.length];
      if (text !== undefined) output.run(text, item, variant.name);
    });
    db.prepare("DELETE FROM variant_facts").run();
  } finally {
    db.close();
  }
  return file;
}

/** A hash of every row of every table but `reviews`: what "the viewer wrote nothing else" compares. */
export function tablesDigest(file: string): Record<string, string> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'reviews' ORDER BY name",
      )
      .all() as Array<{ name: string }>;
    return Object.fromEntries(
      tables.map(({ name }) => {
        const hash = createHash("sha256");
        for (const row of db.prepare(`SELECT * FROM "${name}"`).raw().iterate()) {
          hash.update(JSON.stringify(row, (_, v) => (Buffer.isBuffer(v) ? v.toString("hex") : v)));
        }
        return [name, hash.digest("hex")];
      }),
    );
  } finally {
    db.close();
  }
}
