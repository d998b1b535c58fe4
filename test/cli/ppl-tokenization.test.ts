import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { model, ROOT } from "../support/paths.js";
import { writePlan } from "../support/plans.js";

const TEXT = join(ROOT, "test/fixtures/ppl/stories.txt");
/** The full 32,000-token Llama-2 vocabulary: it cuts the text into other tokens than stories260K's 512. */
const OTHER_VOCAB = model("llama-2-tiny-random.gguf");

describe("a model that tokenizes the text unlike the baseline (one check, each command's contract)", () => {
  /** `qbench ppl OTHER_VOCAB --baseline stories260K-f16 ...extra`: refused as bad input before any chunk. */
  const refusedPpl = async (extra: string[]) => {
    const cpu = ["--ctx", "64", "--backend", "cpu", "--threads", "1"];
    const baseline = ["--baseline", model("stories260K-f16.gguf"), ...extra];
    const out = await qbench(["ppl", OTHER_VOCAB, TEXT, ...cpu, ...baseline]);
    assert.equal(out.exitCode, 2, out.stderr);
    assert.match(
      out.stderr,
      /llama-2-tiny-random\.gguf: the model tokenizes the text differently from the baseline/,
    );
    assert.doesNotMatch(out.stderr, /^\[1\/\d+\] ppl/m, "refused before any chunk is scored");
    return out;
  };

  it("qbench ppl --baseline refuses it as bad input (exit 2), naming the model", async () => {
    await refusedPpl([]);
  });

  it("qbench ppl --kld exact (no baseline pass: the runner tokenizes with both) refuses it too", async () => {
    const out = await refusedPpl(["--kld", "exact"]);
    assert.doesNotMatch(out.stderr, /^\[baseline /m, "no separate baseline pass");
  });

  it("qbench run stores its chunks as failed items with TOKENIZATION_MISMATCH", async () => {
    const dir = tempDir();
    writeFiles(dir, {
      "ppl.yaml": `id: ppl\nmetrics:\n  - perplexity: { file: ${TEXT}, ctx: 64 }\n`,
    });
    const plan = writePlan(
      dir,
      [{ name: "fp16" }, { name: "other", file: OTHER_VOCAB }],
      [join(dir, "ppl.yaml")],
      "maxFailedItems: 1000",
    );
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db, "--quiet"]);
    assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);
    const conn = new Database(db, { readonly: true });
    const kinds = conn
      .prepare(
        `SELECT r.status, r.error_kind AS kind, COUNT(*) AS n FROM results r
         JOIN variants v ON v.id = r.variant_id WHERE v.name = ? GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all("other") as Array<{ status: string; kind: string | null; n: number }>;
    const baseline = conn
      .prepare(
        "SELECT COUNT(*) AS n FROM results r JOIN variants v ON v.id = r.variant_id WHERE v.name = 'fp16' AND r.status = 'ok'",
      )
      .get() as { n: number };
    conn.close();
    const mismatched = kinds.find((k) => k.kind === "TOKENIZATION_MISMATCH")?.n ?? 0;
    assert.ok(mismatched > 0, JSON.stringify(kinds));
    assert.ok(baseline.n >= mismatched, `baseline scored ${baseline.n} chunks`);
    assert.deepEqual(
      kinds.filter((k) => k.status === "error" && k.kind !== "TOKENIZATION_MISMATCH"),
      [],
      "no other error",
    );
  });
});
