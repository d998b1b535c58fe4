import type { CommandModule } from "yargs";
import { InputError } from "../errors.js";
import { compareVariantRuns, type MetricDelta } from "../verdict/compare.js";
import { storedGates } from "../verdict/decide-run.js";
import type { RunFacts } from "../verdict/facts.js";
import { DEFAULT_DB, openExistingDb } from "./open-run.js";

interface HistoryArgs {
  db: string;
  plan: string | undefined;
  last: number;
  json: boolean;
}

interface Series {
  variant: string;
  suite: string;
  metric: string;
  values: Array<{ run: number; value: number }>;
  /** Runs where the metric moved beyond its interval compared with the run before. */
  moves: Array<{ run: number; from: number; delta: number; interval: [number, number] }>;
}

function collect(runs: RunFacts[]): Series[] {
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

export const historyCommand: CommandModule<object, HistoryArgs> = {
  command: "history",
  describe:
    "Past runs of a plan: each variant's metrics over time, and the runs where one moved beyond its interval",
  builder: (y) =>
    y
      .option("db", { type: "string", default: DEFAULT_DB, describe: "SQLite database" })
      .option("plan", { type: "string", describe: "Plan name (default: the newest run's)" })
      .option("last", { type: "number", default: 10, describe: "How many complete runs" })
      .option("json", { type: "boolean", default: false, describe: "One JSON object" }),
  handler: (args) => {
    const store = openExistingDb(args.db);
    try {
      const name = args.plan ?? store.findRun()?.planName;
      if (!name) throw new InputError("BAD_INPUT", "the database has no runs");
      const ids = store.completeRuns(name, args.last);
      if (ids.length === 0) throw new InputError("BAD_INPUT", `no complete runs of plan "${name}"`);
      const series = collect(ids.map((id) => store.facts(id)));
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ plan: name, runs: ids, series })}\n`);
        return;
      }
      const lines = [`plan ${name}: runs ${ids.join(", ")}`];
      for (const s of series) {
        const trend = s.values.map((v) => v.value.toFixed(4)).join(" → ");
        lines.push(
          `  ${s.variant.padEnd(10)} ${s.suite.padEnd(18)} ${s.metric.padEnd(14)} ${trend}`,
        );
        for (const m of s.moves) {
          lines.push(
            `      moved in run ${m.run} (vs ${m.from}): ${m.delta >= 0 ? "+" : ""}${m.delta.toFixed(4)} (CI ${m.interval[0].toFixed(4)}…${m.interval[1].toFixed(4)})`,
          );
        }
      }
      process.stdout.write(`${lines.join("\n")}\n`);
    } finally {
      store.close();
    }
  },
};
