import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { openDatabase } from "../../src/store/database.js";
import { saveSweep } from "../../src/store/sweeps.js";
import { runLoadSweep, type SweepOptions } from "../../src/sweep/load-sweep.js";
import { formatSweepTable } from "../../src/sweep/table.js";
import { qbench, tempDir } from "../support/cli.js";
import { OpenAiTestServer } from "../support/openai-server.js";
import { model } from "../support/paths.js";

const PROMPTS = ["Once upon a time", "One day, Lily", "The little dog", "Tom and his mom"];

describe("load sweep on loopback (the OpenAI-compatible test server over real llama.cpp)", () => {
  let server: OpenAiTestServer;
  const options = (o: Partial<SweepOptions>): SweepOptions => ({
    target: { baseUrl: server.url, model: "stories-test", chat: false, timeoutSeconds: 30 },
    prompts: PROMPTS,
    maxTokens: 16,
    temperature: 0,
    levels: [{ concurrency: 1 }],
    requestsPerLevel: 4,
    maxSecondsPerLevel: 30,
    budgets: {},
    seed: 1,
    warmup: 0,
    ...o,
  });

  before(async () => {
    server = await OpenAiTestServer.start({ model: model("stories260K-f16.gguf") });
  });
  after(() => server?.close());

  it("runs each concurrency level with that many requests in flight, and summarizes it", async () => {
    server.maxInFlight = 0;
    const before = server.completionRequests;
    // The warm-up and level 1 as they come; then each request of level 3 is held 300 ms, so its
    // three requests overlap however slowly this machine opens the connections.
    server.inject({ times: 7 });
    server.inject({ delayMs: 300, times: 6 });
    const [one, three] = await runLoadSweep(
      options({ levels: [{ concurrency: 1 }, { concurrency: 3 }], requestsPerLevel: 6, warmup: 1 }),
    );
    assert.equal(server.completionRequests - before, 1 + 6 + 6);
    assert.equal(server.maxInFlight, 3);
    for (const level of [one, three]) {
      assert.ok(level);
      assert.equal(level.requests, 6);
      assert.equal(level.completed, 6);
      assert.equal(level.failed, 0);
      // Every prompt asks for 16 tokens; the story model does not stop before.
      assert.equal(level.outputThroughput, (6 * 16) / level.durationS);
      assert.ok(level.ttft && level.ttft.p50 <= level.ttft.p90 && level.ttft.p90 <= level.ttft.p99);
      assert.ok(level.itl && level.itl.p50 >= 0);
      assert.equal(level.goodShare, null);
    }
  });

  it("sends Poisson arrivals at a request rate, bounded by count and time", async () => {
    const started = performance.now();
    const [level] = await runLoadSweep(
      options({ levels: [{ rate: 2 }], requestsPerLevel: 50, maxSecondsPerLevel: 1.5 }),
    );
    const seconds = (performance.now() - started) / 1000;
    assert.ok(level);
    // At 2 req/s for 1.5 s about 3 arrivals fit; never all 50, and the level ends soon after.
    assert.ok(level.requests >= 1 && level.requests < 12, `${level.requests} requests`);
    assert.equal(level.completed, level.requests);
    assert.ok(seconds < 10, `${seconds} s`);
  });

  it("counts goodput under budgets: all good with loose ones, none with impossible ones", async () => {
    const [loose, tight] = await Promise.all([
      runLoadSweep(options({ budgets: { ttftMs: 60_000, itlMs: 60_000 } })),
      runLoadSweep(options({ budgets: { ttftMs: 0.001 } })),
    ]);
    assert.equal(loose[0]?.goodShare, 1);
    assert.equal(tight[0]?.goodShare, 0);
    assert.equal(tight[0]?.goodput, 0);
  });

  it("counts failed requests (no retry in a sweep) and names their error", async () => {
    server.inject({ status: 503, times: 2 });
    const [level] = await runLoadSweep(options({ requestsPerLevel: 4 }));
    assert.equal(level?.completed, 2);
    assert.equal(level?.failed, 2);
    assert.match(level?.errors[0] ?? "", /answered 503/);
    assert.match(formatSweepTable(level ? [level] : []), /concurrency 1: .*answered 503/);
  });

  it("stores a sweep and its levels for the report's curves", async () => {
    const sweepOptions = options({ levels: [{ concurrency: 1 }, { rate: 5, maxConcurrency: 2 }] });
    const results = await runLoadSweep(sweepOptions);
    const file = join(tempDir(), "sweep.db");
    const db = openDatabase(file);
    const id = saveSweep(
      db,
      { variant: "f16", startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:05Z" },
      sweepOptions,
      results,
    );
    db.close();
    const read = new Database(file, { readonly: true });
    const rows = read
      .prepare(
        `SELECT r.variant, l.ordinal, l.concurrency, l.request_rate, l.completed, l.ttft_p50_ms,
           l.output_throughput, l.good_share
         FROM sweep_levels l JOIN sweep_runs r ON r.id = l.sweep_id WHERE r.id = ? ORDER BY l.ordinal`,
      )
      .all(id) as Array<Record<string, unknown>>;
    read.close();
    assert.equal(rows.length, 2);
    assert.deepEqual(
      rows.map((r) => [r.variant, r.ordinal, r.concurrency, r.request_rate, r.good_share]),
      [
        ["f16", 0, 1, null, null],
        ["f16", 1, 2, 5, null],
      ],
    );
    assert.equal(rows[0]?.ttft_p50_ms, results[0]?.ttft?.p50);
    assert.equal(rows[1]?.output_throughput, results[1]?.outputThroughput);
  });

  it("qbench sweep prints the table and stores the sweep", async () => {
    const dir = tempDir();
    const prompts = join(dir, "prompts.jsonl");
    writeFileSync(prompts, `${PROMPTS.map((prompt) => JSON.stringify({ prompt })).join("\n")}\n`);
    const db = join(dir, "q.db");
    const result = await qbench([
      "sweep",
      "--url",
      server.url,
      "--prompts",
      prompts,
      "--concurrency",
      "1,2",
      "--requests",
      "4",
      "--max-tokens",
      "8",
      "--ttft-budget-ms",
      "60000",
      "--db",
      db,
      "--label",
      "f16",
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(
      result.stdout,
      /^level\s+ok\/sent\s+time s\s+req\/s\s+out tok\/s\s+TTFT ms p50\/p90\/p99/,
    );
    assert.match(result.stdout, /concurrency 1\s+4\/4/);
    assert.match(result.stdout, /concurrency 2\s+4\/4 .* 100%$/m);
    assert.match(result.stderr, /stored sweep 1 in/);
    const read = new Database(db, { readonly: true });
    const count = read.prepare("SELECT COUNT(*) AS n FROM sweep_levels").get() as { n: number };
    read.close();
    assert.equal(count.n, 2);
  });

  it("qbench sweep: bad levels are a usage error (exit 2), an unreachable server exit 3", async () => {
    const dir = tempDir();
    const prompts = join(dir, "p.txt");
    writeFileSync(prompts, "Once upon a time\n");
    const bad = await qbench([
      "sweep",
      "--url",
      server.url,
      "--prompts",
      prompts,
      "--concurrency",
      "0,2",
    ]);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /--concurrency takes positive numbers/);
    const both = await qbench([
      "sweep",
      "--url",
      server.url,
      "--prompts",
      prompts,
      "--rate",
      "1",
      "--concurrency",
      "1",
    ]);
    assert.equal(both.exitCode, 2);
    const down = await qbench(["sweep", "--url", "http://127.0.0.1:9", "--prompts", prompts]);
    assert.equal(down.exitCode, 3);
    assert.match(down.stderr, /no server answers at http:\/\/127\.0\.0\.1:9/);
  });
});
