import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { chooseThreads } from "../../src/orchestrator/auto-threads.js";
import type { VariantContext } from "../../src/orchestrator/session-context.js";
import { threadCandidates } from "../../src/orchestrator/threads-choice.js";
import { type CliResult, qbench, tempDir, writeFiles } from "../support/cli.js";
import { model } from "../support/paths.js";
import { writeClozeSuite } from "../support/plans.js";

interface Row {
  threads: number;
  threads_reason: string | null;
  status: string;
}

describe("threads: auto measures once on the real llama.cpp runner's CPU backend, then reuses it", () => {
  const dir = tempDir();
  const cache = join(dir, "cache", "threads.json");
  const env = { QBENCH_THREADS_CACHE: cache };
  const runs: CliResult[] = [];
  const rows: Row[] = [];
  before(async () => {
    const suite = writeClozeSuite(dir, 2);
    const plan = [
      "name: auto-threads",
      "variants:",
      "  - name: f32",
      `    model: ${model("stories260K-f32.gguf")}`,
      "    precision: f32",
      "suites:",
      `  - ${suite}`,
      "backend: cpu",
      "contextSize: 256",
      "threads: auto",
      "warmup: 0",
    ].join("\n");
    writeFiles(dir, { "plan.yaml": plan });
    for (const name of ["first.db", "second.db"]) {
      const db = join(dir, name);
      runs.push(
        await qbench(["run", join(dir, "plan.yaml"), "--db", db], { env, timeout: 300_000 }),
      );
      const conn = new Database(db, { readonly: true });
      rows.push(conn.prepare("SELECT threads, threads_reason, status FROM variants").get() as Row);
      conn.close();
    }
  });

  it("measures every candidate on the first run, keeps the fastest and caches it", () => {
    const first = runs[0] as CliResult;
    assert.ok([0, 1].includes(first.exitCode), first.stderr);
    const candidates = threadCandidates(availableParallelism());
    assert.match(first.stderr, new RegExp(`measuring threads ${candidates.join(", ")}`));
    const entries = Object.values(JSON.parse(readFileSync(cache, "utf8")).entries) as Array<{
      threads: number;
      figures: Array<{ threads: number; tokensPerSecond: number }>;
    }>;
    assert.equal(entries.length, 1);
    const [entry] = entries;
    assert.deepEqual(
      entry?.figures.map((f) => f.threads),
      candidates,
    );
    assert.ok(entry?.figures.every((f) => f.tokensPerSecond > 0));
    const fastest = Math.max(...(entry?.figures ?? []).map((f) => f.tokensPerSecond));
    assert.equal(entry?.figures.find((f) => f.threads === entry.threads)?.tokensPerSecond, fastest);
    assert.equal(rows[0]?.status, "complete");
    assert.equal(rows[0]?.threads, entry?.threads);
    assert.match(
      rows[0]?.threads_reason ?? "",
      /^measured: \d+ threads? \d+ tok\/s.*, cached \d{4}-\d\d-\d\d$/,
    );
    process.stderr.write(`${rows[0]?.threads_reason}\n`);
  });

  it("reuses the cached answer on the second run without measuring again", () => {
    const second = runs[1] as CliResult;
    assert.ok([0, 1].includes(second.exitCode), second.stderr);
    assert.doesNotMatch(second.stderr, /measuring threads/);
    assert.deepEqual(rows[1], rows[0]);
    assert.match(second.stderr, new RegExp(`f32: threads ${rows[0]?.threads} \\(measured: `));
  });
});

describe("threads: auto keeps the size rule where it does not measure (nothing is started)", () => {
  const context = (variant: Record<string, unknown>, threadsCache?: string) =>
    ({
      variant: { name: "v", threads: 2, threadsAuto: true, backend: "cpu", ...variant },
      threadsCache,
    }) as unknown as VariantContext;
  const llamaCpp = { name: "llama-cpp", file: "node", args: [] };

  it("says the plan set the count", async () => {
    const choice = await chooseThreads(
      context({ threadsAuto: false, runnerCommand: llamaCpp }, "/none"),
    );
    assert.deepEqual(choice, { threads: 2, reason: "plan sets 2" });
  });

  it("keeps the rule on other runners and GPU backends, and without a cache file", async () => {
    const webgpu = await chooseThreads(
      context(
        { backend: "webgpu", runnerCommand: { name: "webgpu", file: "node", args: [] } },
        "/none",
      ),
    );
    assert.equal(webgpu.threads, 2);
    assert.match(
      webgpu.reason,
      /^auto by model size .*; runner webgpu, backend webgpu: not measured$/,
    );
    const cuda = await chooseThreads(
      context({ backend: "cuda", runnerCommand: llamaCpp }, "/none"),
    );
    assert.match(cuda.reason, /runner llama-cpp, backend cuda: not measured$/);
    const off = await chooseThreads(context({ runnerCommand: llamaCpp }));
    assert.match(off.reason, /no threads cache: not measured$/);
  });
});
