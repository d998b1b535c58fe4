import type { CommandModule } from "yargs";
import { InputError } from "../errors.js";
import { compareRuns, formatDelta } from "../verdict/compare.js";
import { chooseRun, DEFAULT_DB, openExistingDb, parseRunId } from "./open-run.js";

interface CompareArgs {
  runA: string;
  runB: string;
  db: string;
  json: boolean;
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: "compare <runA> <runB>",
  describe: "Per-metric deltas of each variant between two stored runs, with paired intervals",
  builder: (y) =>
    y
      .positional("runA", {
        type: "string",
        demandOption: true,
        describe: "The earlier run id",
      })
      .positional("runB", {
        type: "string",
        demandOption: true,
        describe: "The later run id",
      })
      .option("db", { type: "string", default: DEFAULT_DB, describe: "SQLite database" })
      .option("json", { type: "boolean", default: false, describe: "One JSON object" })
      .example("$0 compare 41 42", "last night vs tonight"),
  handler: (args) => {
    const [runA, runB] = [parseRunId(args.runA), parseRunId(args.runB)];
    const store = openExistingDb(args.db);
    try {
      const a = store.facts(chooseRun(store, runA).id);
      const b = store.facts(chooseRun(store, runB).id);
      const variants = compareRuns(a, b);
      if (variants.length === 0) {
        throw new InputError("BAD_INPUT", `runs ${a.runId} and ${b.runId} share no variant name`);
      }
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ before: a.runId, after: b.runId, variants })}\n`);
        return;
      }
      const lines = [`run ${a.runId} → run ${b.runId}`];
      for (const v of variants) {
        lines.push(`  ${v.variant}`);
        for (const d of v.deltas) lines.push(`    ${formatDelta(d)}`);
      }
      process.stdout.write(`${lines.join("\n")}\n`);
    } finally {
      store.close();
    }
  },
};
