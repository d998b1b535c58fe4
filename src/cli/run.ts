import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CommandModule } from "yargs";
import { InputError, RunError } from "../errors.js";
import { EXIT } from "../exit-codes.js";
import { createProgress } from "../orchestrator/progress.js";
import { runPlan } from "../orchestrator/run-plan.js";
import { formatSummary } from "../orchestrator/summary.js";
import { threadsCachePath } from "../orchestrator/threads-cache.js";
import type { PlanOverrides } from "../plan/load.js";
import { Backend } from "../plan/schema.js";
import { parseShard } from "../plan/shard.js";
import { formatVerdicts, verdictExitCode } from "../verdict/format.js";
import { DEFAULT_DB } from "./open-run.js";
import { type RunReportFlags, runReportOptions, writeRunReport } from "./report.js";

interface RunArgs extends RunReportFlags {
  plan: string | undefined;
  db: string;
  resume: boolean;
  json: boolean;
  quiet: boolean;
  backend: Backend | undefined;
  threads: string | undefined;
  ctx: number | undefined;
  seed: number | undefined;
  repeats: number | undefined;
  warmup: number | undefined;
  concurrency: number | undefined;
  "max-tokens": number | undefined;
  shard: string | undefined;
}

const BUNDLED_PLAN = fileURLToPath(new URL("../../../qbench.yaml", import.meta.url));

/** The plan to run: the one named, else ./qbench.yaml, else the bundled demo. */
export function choosePlan(plan: string | undefined): string {
  if (plan !== undefined) return resolve(plan);
  const local = resolve("qbench.yaml");
  return existsSync(local) ? local : BUNDLED_PLAN;
}

function overridesFrom(args: RunArgs): PlanOverrides {
  let threads: number | "auto" | undefined;
  if (args.threads !== undefined) {
    threads = args.threads === "auto" ? "auto" : Number(args.threads);
    if (threads !== "auto" && !(Number.isInteger(threads) && threads >= 0)) {
      throw new InputError(
        "BAD_USAGE",
        `--threads must be a number ≥ 0 or auto, got ${args.threads}`,
      );
    }
  }
  return {
    ...(args.backend !== undefined ? { backend: args.backend } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(args.ctx !== undefined ? { contextSize: args.ctx } : {}),
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.repeats !== undefined ? { repeats: args.repeats } : {}),
    ...(args.warmup !== undefined ? { warmup: args.warmup } : {}),
    ...(args.concurrency !== undefined ? { concurrency: args.concurrency } : {}),
    ...(args["max-tokens"] !== undefined ? { maxTokens: args["max-tokens"] } : {}),
  };
}

/** The command that finishes this run, as the user would type it. */
function resumeCommand(args: RunArgs): string {
  const words = ["qbench", "run", ...(args.plan !== undefined ? [args.plan] : [])];
  if (args.db !== DEFAULT_DB) words.push("--db", args.db);
  if (args.shard !== undefined) words.push("--shard", args.shard);
  return [...words, "--resume"]
    .map((w) => (/^[\w./:@=-]+$/.test(w) ? w : JSON.stringify(w)))
    .join(" ");
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: "run [plan]",
  describe:
    "Run a plan: every variant over every suite, stored in SQLite (default: the bundled demo)",
  builder: (y) =>
    y
      .positional("plan", {
        type: "string",
        describe: "Plan file (default: ./qbench.yaml, else the bundled demo)",
      })
      .option("db", {
        type: "string",
        default: DEFAULT_DB,
        describe: "SQLite database to store results in",
      })
      .option("resume", {
        type: "boolean",
        default: false,
        describe:
          "Finish the newest run of this plan in --db: skip stored items, retry failed ones",
      })
      .option("json", {
        type: "boolean",
        default: false,
        describe: "Print a JSON summary as the last stdout line",
      })
      .option("quiet", { type: "boolean", default: false, describe: "No progress output" })
      .option("backend", { choices: Backend.options, describe: "Override the plan's backend" })
      .option("threads", { type: "string", describe: "Override CPU threads (a number, or auto)" })
      .option("ctx", { type: "number", describe: "Override the context size" })
      .option("seed", { type: "number", describe: "Override the seed" })
      .option("repeats", { type: "number", describe: "Override repeats per item" })
      .option("warmup", { type: "number", describe: "Override warm-up generations per variant" })
      .option("concurrency", { type: "number", describe: "Variants run at once" })
      .option("max-tokens", { type: "number", describe: "Override generation max tokens" })
      .options(runReportOptions)
      .option("shard", {
        type: "string",
        describe:
          "Run slice i/n of every suite's items (1-based), or auto from JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID",
      })
      .example("$0 run", "the bundled demo plan")
      .example("$0 run my-plan.yaml --resume", "finish a killed run; nothing is scored twice")
      .example(
        "$0 run my-plan.yaml --shard 2/3 --db shard2.db",
        "one slice; qbench merge joins them",
      )
      .epilog(
        "Exit codes: 0 every variant SHIP · 1 at least one NO-SHIP · 2 bad input, nothing ran · 3 the run could not complete · 130 / 143 stopped by Ctrl-C / SIGTERM (stored as interrupted; --resume finishes it).",
      ),
  handler: async (args) => {
    const planFile = choosePlan(args.plan);
    const progress = createProgress(process.stderr, args.quiet);
    const started = performance.now();
    const interrupt = new AbortController();
    // The first signal stops the run cleanly; a second one, while it stops, exits at once.
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupt.signal.aborted) process.exit(signal === "SIGTERM" ? EXIT.sigterm : EXIT.sigint);
      interrupt.abort(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const outcome = await runPlan({
      planFile,
      overrides: overridesFrom(args),
      dbPath: resolve(args.db),
      resume: args.resume,
      progress,
      ...(args.shard !== undefined ? { shard: parseShard(args.shard, process.env) } : {}),
      signal: interrupt.signal,
      resumeCommand: resumeCommand(args),
      threadsCache: threadsCachePath(process.env),
    }).finally(() => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    });
    const seconds = (performance.now() - started) / 1000;
    const db = resolve(args.db);
    process.stdout.write(`${formatSummary(outcome.summary)}\n`);
    process.stdout.write(`stored in ${db} (run ${outcome.runId}) in ${seconds.toFixed(1)} s\n\n`);
    process.stdout.write(`${formatVerdicts(outcome.verdicts)}\n`);
    process.stdout.write(await writeRunReport(args, outcome.runId));
    if (args.json) {
      const json = { ...outcome.summary, verdicts: outcome.verdicts, seconds, db };
      process.stdout.write(`${JSON.stringify(json)}\n`);
    }
    const baseline = outcome.summary.variants.find((v) => v.baseline);
    if (baseline && baseline.status !== "complete") {
      // Without a baseline nothing could be compared: the run did not do its job.
      throw new RunError(
        `the baseline ${baseline.name} did not complete: ${baseline.error ?? "unknown error"}`,
      );
    }
    process.exitCode = verdictExitCode(outcome.verdicts);
  },
};
