import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildCharts } from "../../src/report/charts.js";
import type { HistorySeries } from "../../src/report/history.js";
import type { RunRecord as StoredRun } from "../../src/store/records.js";

const series = (suite: string): HistorySeries => ({
  suite,
  metric: "exact_match",
  runs: [1, 2],
  variants: [{ name: "fp16", values: [0.5, 0.6] }],
});

describe("report charts", () => {
  it("history charts are named by their suite, as safe and unique file names", () => {
    const run = { planName: "nightly", variants: [], suites: [] } as unknown as StoredRun;
    const charts = buildCharts({
      run,
      timings: new Map(),
      keyMetrics: [],
      history: ["demo-tasks", "Stories PPL", "stories/ppl", "../../etc/passwd", "日本語"].map(
        series,
      ),
    });
    assert.deepEqual(
      charts.map((c) => c.id),
      [
        "history-demo-tasks",
        "history-stories-ppl",
        "history-stories-ppl-2",
        "history-etc-passwd",
        "history-suite",
      ],
    );
  });
});
