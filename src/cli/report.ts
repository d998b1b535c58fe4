import { dirname, join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { InputError } from "../errors.js";
import { DEFAULT_DISAGREEMENT_CAP } from "../report/build-model.js";
import { writeReport } from "../report/write-report.js";
import { whyNotWritable } from "../store/writable.js";
import { chooseRun, DEFAULT_DB, openExistingDb, parseRunId } from "./open-run.js";
import { planGatesFor } from "./plan-gates.js";

interface ReportArgs {
  db: string;
  run: string | undefined;
  out: string | undefined;
  png: string | undefined;
  summary: string | undefined;
  junit: string | undefined;
  plan: string | undefined;
  "disagreement-cap": number;
  history: number;
}

/** Where a run's HTML report goes by default: beside its database. */
export function defaultReportPath(db: string, runId: number): string {
  return join(dirname(resolve(db)), `report-${runId}.html`);
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: "report",
  describe:
    "Render a stored run as one self-contained HTML report, PNG charts, a Markdown summary or JUnit XML",
  builder: (y) =>
    y
      .option("db", { type: "string", default: DEFAULT_DB, describe: "SQLite database" })
      .option("run", {
        type: "string",
        describe: "Run id (default: the newest)",
      })
      .option("out", {
        type: "string",
        describe: "HTML file (default: report-<run>.html beside the database)",
      })
      .option("png", { type: "string", describe: "Also write one PNG per chart into this folder" })
      .option("summary", {
        type: "string",
        describe:
          "Write a Markdown verdict table here (--summary=- for stdout); also appended to $GITHUB_STEP_SUMMARY when set",
      })
      .option("junit", {
        type: "string",
        describe: "Write JUnit XML here: a test case per variant × gate",
      })
      .option("plan", {
        type: "string",
        describe: "Decide under this plan's gates instead of the stored ones",
      })
      .option("disagreement-cap", {
        type: "number",
        default: DEFAULT_DISAGREEMENT_CAP,
        describe: "Disagreeing items kept per suite in the HTML",
      })
      .option("history", {
        type: "number",
        default: 10,
        describe: "Earlier complete runs of the same plan in the history charts",
      })
      .example("$0 report", "the newest run, to .qbench/report-<run>.html")
      .example(
        "$0 report --run 12 --png charts/ --summary=- --junit qbench.xml",
        "every output of run 12",
      )
      .epilog(
        "Exit codes: 0 written · 2 bad input (no database or run) · 3 could not render. Gate with qbench run or qbench gate.",
      ),
  handler: async (args) => {
    const cap = args["disagreement-cap"];
    if (!(Number.isInteger(cap) && cap >= 0))
      throw new InputError(
        "BAD_USAGE",
        `--disagreement-cap must be a whole number ≥ 0, got ${cap}`,
      );
    if (!(Number.isInteger(args.history) && args.history >= 0))
      throw new InputError(
        "BAD_USAGE",
        `--history must be a whole number ≥ 0, got ${args.history}`,
      );
    const runId = args.run === undefined ? undefined : parseRunId(args.run);
    const store = openExistingDb(args.db);
    try {
      const run = chooseRun(store, runId);
      const gates = args.plan ? planGatesFor(store.run(run.id), args.plan) : undefined;
      const html = args.out ?? defaultReportPath(args.db, run.id);
      const why = args.out === undefined ? whyNotWritable(dirname(html)) : undefined;
      if (why)
        throw new InputError(
          "BAD_USAGE",
          `the report goes beside the database by default, but ${dirname(html)} ${why}: name another file with --out`,
        );
      const written = await writeReport(
        store.report(run.id, args.history),
        {
          html,
          ...(args.png ? { pngDir: args.png } : {}),
          ...(args.summary ? { summary: args.summary } : {}),
          ...(args.junit ? { junit: args.junit } : {}),
          ...(process.env.GITHUB_STEP_SUMMARY
            ? { stepSummary: process.env.GITHUB_STEP_SUMMARY }
            : {}),
        },
        { ...(gates ? { gates } : {}), disagreementCap: cap },
      );
      if (written.stdout) process.stdout.write(written.stdout);
      const { ship, variants } = written.model.counts;
      process.stderr.write(
        `run ${run.id} (${run.planName}): ${ship} of ${variants} ship\n${written.files.map((f) => `wrote ${f}`).join("\n")}\n`,
      );
    } finally {
      store.close();
    }
  },
};

/** `qbench run`'s report flags: the run writes the same report `qbench report` would. */
export const runReportOptions = {
  report: {
    type: "string",
    describe:
      "HTML report of the run (default: report-<run>.html beside the database; --no-report for none)",
  },
  summary: {
    type: "string",
    describe:
      "Write a Markdown verdict table here (--summary=- for stdout); also appended to $GITHUB_STEP_SUMMARY when set",
  },
  junit: { type: "string", describe: "Write JUnit XML here: a test case per variant × gate" },
} as const;

export interface RunReportFlags {
  db: string;
  report?: string | boolean | undefined;
  summary?: string | undefined;
  junit?: string | undefined;
}

/** Writes a finished run's report from its database, as `qbench report` would; returns what it printed. */
export async function writeRunReport(flags: RunReportFlags, runId: number): Promise<string> {
  const html =
    flags.report === false
      ? undefined
      : typeof flags.report === "string" && flags.report !== ""
        ? flags.report
        : defaultReportPath(flags.db, runId);
  const store = openExistingDb(flags.db);
  try {
    const written = await writeReport(store.report(runId), {
      ...(html ? { html } : {}),
      ...(flags.summary ? { summary: flags.summary } : {}),
      ...(flags.junit ? { junit: flags.junit } : {}),
      ...(process.env.GITHUB_STEP_SUMMARY ? { stepSummary: process.env.GITHUB_STEP_SUMMARY } : {}),
    });
    return `${written.stdout}${written.files.map((f) => `wrote ${f}\n`).join("")}`;
  } finally {
    store.close();
  }
}
