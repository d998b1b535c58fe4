import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { loadPlan } from "../../src/plan/load.js";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { model } from "../support/paths.js";
import { writeClozeSuite } from "../support/plans.js";

/** A plan folder that names its models, suite and cache only by paths relative to itself. */
function relativePlan(): string {
  const dir = tempDir("qbench-plan-");
  mkdirSync(join(dir, "models"));
  mkdirSync(join(dir, "suites"));
  for (const name of ["stories260K-f32.gguf", "stories260K-f16.gguf"]) {
    copyFileSync(model(name), join(dir, "models", name));
  }
  writeClozeSuite(join(dir, "suites"), 3);
  writeFiles(dir, {
    "plan.yaml": [
      "name: relative",
      "from: models/stories260K-f32.gguf",
      "cacheDir: cache",
      "variants:",
      "  - name: fp16",
      "    model: models/stories260K-f16.gguf",
      "  - q8_0",
      "suites: [suites/cloze.yaml]",
      "backend: cpu",
      "contextSize: 256",
      "threads: 1",
      "warmup: 0",
    ].join("\n"),
  });
  return join(dir, "plan.yaml");
}

describe("paths in a plan are relative to the plan file, wherever qbench runs", () => {
  it("loadPlan from another folder resolves the file, models, suites and cacheDir against the plan's", () => {
    const plan = relativePlan();
    const dir = dirname(plan);
    const cwd = process.cwd();
    process.chdir(tempDir());
    let resolved: ReturnType<typeof loadPlan>;
    try {
      resolved = loadPlan(relative(process.cwd(), plan));
    } finally {
      process.chdir(cwd);
    }
    assert.equal(resolved.file, plan);
    assert.equal(resolved.cacheDir, join(dir, "cache"));
    assert.equal(resolved.variants[0]?.modelPath, join(dir, "models/stories260K-f16.gguf"));
    assert.equal(
      resolved.variants[1]?.quantizeFrom?.source,
      join(dir, "models/stories260K-f32.gguf"),
    );
    assert.equal(resolved.suites[0]?.file, join(dir, "suites/cloze.yaml"));
    assert.equal(resolved.suites[0]?.items.length, 3);
  });

  it("qbench run from another folder finds everything and writes only its outputs (--db, report) there", async () => {
    const plan = relativePlan();
    const dir = dirname(plan);
    const elsewhere = tempDir("qbench-cwd-");
    const out = await qbench(["run", relative(elsewhere, plan), "--db", "run.db", "--quiet"], {
      cwd: elsewhere,
    });
    assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);
    const conn = new Database(join(elsewhere, "run.db"), { readonly: true });
    const variants = conn
      .prepare("SELECT name, status, model_path AS path FROM variants ORDER BY id")
      .all() as Array<{ name: string; status: string; path: string }>;
    const results = conn.prepare("SELECT COUNT(*) AS n FROM results WHERE status = 'ok'").get();
    const run = conn.prepare("SELECT plan_file AS file FROM runs").get();
    conn.close();
    assert.deepEqual(
      variants.map((v) => [v.name, v.status]),
      [
        ["fp16", "complete"],
        ["q8_0", "complete"],
      ],
    );
    assert.deepEqual(results, { n: 6 });
    assert.deepEqual(run, { file: plan });
    assert.equal(variants[0]?.path, join(dir, "models/stories260K-f16.gguf"));
    assert.equal(dirname(dirname(variants[1]?.path ?? "")), join(dir, "cache"));
    assert.ok(existsSync(variants[1]?.path ?? ""), "the quantized file is in the plan's cache");
    assert.deepEqual(
      readdirSync(elsewhere).filter((f) => !/^run\.db|^report-\d+\.html$/.test(f)),
      [],
      "nothing in the current folder but the command's outputs (--db and the report)",
    );
  });
});
