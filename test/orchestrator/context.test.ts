import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { writePlan } from "../support/plans.js";

/** A generation suite whose first item is `words` words long; the rest are short. */
function writeSuite(dir: string, words: number): string {
  const lines = [
    { id: "long", context: "Once upon a time ".repeat(words / 4).trim(), answer: "there" },
    { id: "s1", context: "Once upon a time", answer: "there" },
    { id: "s2", context: "One day, Lily", answer: "there" },
  ].map((line) => JSON.stringify(line));
  writeFiles(dir, {
    "qa.jsonl": `${lines.join("\n")}\n`,
    "qa.yaml": [
      "id: qa",
      'template: "{{context}}"',
      "fields: [context, answer]",
      "target: answer",
      "generation: { maxTokens: 4 }",
      "metrics:",
      "  - exact_match: {}",
      "data: qa.jsonl",
    ].join("\n"),
  });
  return join(dir, "qa.yaml");
}

interface ResultRow {
  variant: string;
  item_id: string;
  status: string;
  error_kind: string | null;
  error: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
}

function readResults(db: string): ResultRow[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn
      .prepare(
        `SELECT v.name AS variant, r.item_id, r.status, r.error_kind, r.error, r.prompt_tokens,
                r.completion_tokens
         FROM results r JOIN variants v ON v.id = r.variant_id ORDER BY v.id, r.id`,
      )
      .all() as ResultRow[];
  } finally {
    conn.close();
  }
}

describe("the plan's contextSize (real llama.cpp runner on stories260K)", () => {
  it("a first item longer than the context costs that item, never the variant's warm-up", async () => {
    const dir = tempDir();
    const plan = writePlan(
      dir,
      [{ name: "f16" }, { name: "q8", file: "stories260K-q8_0.gguf" }],
      [writeSuite(dir, 400)],
    );
    writeFileSync(plan, readFileSync(plan, "utf8").replace("warmup: 0", "warmup: 2"));
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db]);
    assert.doesNotMatch(out.stderr, /warm-up|f16 failed|q8 failed/, out.stderr);
    // Both variants complete; the overflowing item is the one failure the gate counts.
    assert.equal(out.exitCode, 1, out.stderr);
    assert.match(out.stdout, /f16 \(.*\) \[baseline\]: complete[\s\S]*q8 \(.*\): complete/);
    assert.match(out.stdout, /1 failed items, more than the 0 allowed/);
    const rows = readResults(db);
    assert.equal(rows.length, 6);
    for (const row of rows.filter((r) => r.item_id === "long")) {
      assert.equal(row.status, "error");
      assert.equal(row.error_kind, "CONTEXT_OVERFLOW");
      assert.match(row.error ?? "", /the context holds 256/);
    }
    assert.ok(rows.filter((r) => r.item_id !== "long").every((r) => r.status === "ok"));
    assert.match(out.stderr, /✗ f16 × qa item long: CONTEXT_OVERFLOW: prompt has \d+ tokens/);
  });

  it("enforces a context smaller than the engine's allocation, and stores both", async () => {
    const dir = tempDir();
    // 80 words ≈ 100 tokens: inside the 256 llama.cpp allocates at least, outside the plan's 64.
    const plan = writePlan(dir, [{ name: "f16" }], [writeSuite(dir, 80)]);
    writeFileSync(plan, readFileSync(plan, "utf8").replace("contextSize: 256", "contextSize: 64"));
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db]);
    assert.equal(out.exitCode, 1, out.stderr);
    assert.match(out.stdout, /f16 .*: complete/);
    const rows = readResults(db);
    const long = rows.find((r) => r.item_id === "long");
    assert.equal(long?.status, "error");
    assert.equal(long?.error_kind, "CONTEXT_OVERFLOW");
    assert.match(long?.error ?? "", /the context holds 64/);
    for (const row of rows.filter((r) => r.status === "ok")) {
      assert.ok((row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0) <= 64);
    }
    const conn = new Database(db, { readonly: true });
    const variant = conn
      .prepare("SELECT context_size, engine_context_size FROM variants")
      .get() as { context_size: number; engine_context_size: number };
    conn.close();
    assert.equal(variant.context_size, 64);
    assert.ok(variant.engine_context_size >= 64, `engine allocated ${variant.engine_context_size}`);
    const html = join(dir, "r.html");
    const report = await qbench(["report", "--db", db, "--out", html]);
    assert.notEqual(report.exitCode, 3, report.stderr);
    assert.match(readFileSync(html, "utf8"), /64 \(engine allocated \d+\)/);
  });

  it("refuses a perf shape that does not fit the context before anything runs, naming its line", async () => {
    const dir = tempDir();
    const plan = writePlan(
      dir,
      [{ name: "f16" }],
      [writeSuite(dir, 8)],
      "perf:\n  - { prompt: 128, generate: 64 }\n  - { prompt: 200, generate: 64, depth: 8 }",
    );
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db]);
    assert.equal(out.exitCode, 2);
    const line =
      readFileSync(plan, "utf8")
        .split("\n")
        .indexOf("  - { prompt: 200, generate: 64, depth: 8 }") + 1;
    assert.match(
      out.stderr,
      new RegExp(
        `plan\\.yaml:${line}(:\\d+)?: perf\\[1\\]: depth 8 \\+ prompt 200 \\+ generate 64 \\+ 1 = 273 tokens do not fit the contextSize 256`,
      ),
    );
    assert.equal(existsSync(db), false);
  });
});
