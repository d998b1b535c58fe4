import type { CommandModule } from "yargs";
import { InputError } from "../errors.js";
import { historySeries } from "../verdict/history.js";
import { DEFAULT_DB, openExistingDb } from "./open-run.js";

interface HistoryArgs {
  db: string;
  plan: string | undefined;
  last: number;
  json: boolean;
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
      const series = historySeries(ids.map((id) => store.facts(id)));
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
