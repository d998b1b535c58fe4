import type { CommandModule } from "yargs";
import { RunError } from "../errors.js";
import { decideRun } from "../verdict/decide-run.js";
import { formatVerdicts, verdictExitCode } from "../verdict/format.js";
import { chooseRun, DEFAULT_DB, openExistingDb, parseRunId } from "./open-run.js";
import { planGatesFor } from "./plan-gates.js";

interface GateArgs {
  db: string;
  run: string | undefined;
  plan: string | undefined;
  json: boolean;
}

export const gateCommand: CommandModule<object, GateArgs> = {
  command: "gate",
  describe:
    "Re-decide SHIP / NO-SHIP for a stored run, under its own gates or a plan's, without re-running models",
  builder: (y) =>
    y
      .option("db", { type: "string", default: DEFAULT_DB, describe: "SQLite database" })
      .option("run", {
        type: "string",
        describe: "Run id (default: the newest)",
      })
      .option("plan", {
        type: "string",
        describe: "Take the gates from this plan file instead of the stored ones",
      })
      .option("json", {
        type: "boolean",
        default: false,
        describe: "Print the verdicts as one JSON object",
      })
      .example("$0 gate", "the newest run, under the gates it ran with")
      .example("$0 gate --run 12 --plan stricter.yaml", "run 12 under other thresholds")
      .epilog(
        "Exit codes: 0 every variant SHIP · 1 at least one NO-SHIP · 2 bad input · 3 the run did not complete.",
      ),
  handler: (args) => {
    const runId = args.run === undefined ? undefined : parseRunId(args.run);
    const store = openExistingDb(args.db);
    try {
      const run = chooseRun(store, runId);
      const gates = args.plan ? planGatesFor(store.run(run.id), args.plan) : undefined;
      const verdicts = decideRun(store.facts(run.id), gates, store.reviews(run.id));
      if (args.json)
        process.stdout.write(`${JSON.stringify({ run: run.id, status: run.status, verdicts })}\n`);
      else
        process.stdout.write(
          `run ${run.id} (${run.planName}, ${run.status})\n${formatVerdicts(verdicts)}\n`,
        );
      if (run.status !== "complete") {
        const how =
          run.status === "interrupted" ? "was interrupted" : `did not complete (${run.status})`;
        throw new RunError(`run ${run.id} ${how}: finish it with qbench run --resume`);
      }
      process.exitCode = verdictExitCode(verdicts);
    } finally {
      store.close();
    }
  },
};
