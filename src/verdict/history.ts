import { compareVariantRuns, type MetricDelta } from "./compare.js";
import { storedGates } from "./decide-run.js";
import type { RunFacts } from "./facts.js";

export interface Series {
  variant: string;
  suite: string;
  metric: string;
  values: Array<{ run: number; value: number }>;
  /** Runs where the metric moved beyond its interval compared with the run before. */
  moves: Array<{ run: number; from: number; delta: number; interval: [number, number] }>;
}

/** Each variant × suite × metric over runs of a plan (oldest first), and where it moved. */
export function historySeries(runs: readonly RunFacts[]): Series[] {
  const series = new Map<string, Series>();
  const add = (variant: string, d: MetricDelta, run: number, from: number | undefined) => {
    const key = `${variant}\u0000${d.suite}\u0000${d.metric}`;
    let s = series.get(key);
    if (!s) {
      s = { variant, suite: d.suite, metric: d.metric, values: [], moves: [] };
      series.set(key, s);
    }
    if (from === undefined) s.values.push({ run, value: d.before });
    else {
      s.values.push({ run, value: d.after });
      if (d.moved) s.moves.push({ run, from, delta: d.delta, interval: d.interval });
    }
  };
  runs.forEach((run, i) => {
    const prev = runs[i - 1];
    const gates = storedGates(run.planJson);
    const options = { confidence: gates.confidence, resamples: gates.resamples, seed: gates.seed };
    for (const v of run.variants) {
      const before = prev?.variants.find((p) => p.name === v.name);
      // The first run is compared with itself only to list its values.
      for (const d of compareVariantRuns(before ?? v, v, options))
        add(v.name, d, run.runId, before ? prev?.runId : undefined);
    }
  });
  return [...series.values()];
}
