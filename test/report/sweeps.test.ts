import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDatabase } from "../../src/store/database.js";
import { modelOf } from "./model-of.js";
import { writeSyntheticRun } from "./synthetic-run.js";

describe("load sweeps in the report", () => {
  it("draws each variant's newest sweep as a throughput / TTFT p90 curve, one point per level", () => {
    const db = openDatabase(":memory:");
    const runId = writeSyntheticRun(db, { variants: 3, items: 60 });
    const sweep = db.prepare(
      `INSERT INTO sweep_runs (run_id, variant, server_url, model, endpoint, max_tokens, temperature, prompts,
         requests_per_level, max_seconds_per_level, seed, started_at)
       VALUES (?, ?, 'http://127.0.0.1:1', 'm', 'completions', 64, 0, 8, 16, 60, 1, '2026-11-23T00:00:00Z')`,
    );
    const level = db.prepare(
      `INSERT INTO sweep_levels (sweep_id, ordinal, concurrency, requests, completed, failed, duration_s,
         request_throughput, output_throughput, ttft_p90_ms) VALUES (?, ?, ?, 16, 16, 0, 1, 16, ?, ?)`,
    );
    for (const [variant, run] of [
      ["q8_0", runId],
      ["q6_k", null],
      ["not-a-variant", runId],
    ] as const) {
      const id = Number(sweep.run(run, variant).lastInsertRowid);
      for (const [i, c] of [1, 2, 4].entries()) level.run(id, i, c, 500 * c, 10 * c);
    }
    const chart = modelOf(db, runId).charts.find((c) => c.id === "load-sweep");
    assert.ok(chart, "a load-sweep chart");
    assert.deepEqual(
      chart.datasets.map((d) => d.label),
      ["q6_k", "q8_0"],
    );
    assert.deepEqual(chart.datasets[1]?.data, [
      { x: 500, y: 10, label: "×1" },
      { x: 1000, y: 20, label: "×2" },
      { x: 2000, y: 40, label: "×4" },
    ]);
    db.close();
  });

  it("has no sweep chart when there are no sweeps", () => {
    const db = openDatabase(":memory:");
    const runId = writeSyntheticRun(db, { variants: 2, items: 30 });
    assert.equal(
      modelOf(db, runId).charts.find((c) => c.id === "load-sweep"),
      undefined,
    );
    db.close();
  });
});
