import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { InputError, InterruptedError, QbenchError } from "../errors.js";
import { ignoreClosedPipe } from "./closed-pipe.js";
import { compareCommand } from "./compare.js";
import { doctorCommand } from "./doctor.js";
import { gateCommand } from "./gate.js";
import { historyCommand } from "./history.js";
import { inspectCommand } from "./inspect.js";
import { mergeCommand } from "./merge.js";
import { pplCommand } from "./ppl.js";
import { quantizeCommand } from "./quantize.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run.js";
import { scoreCommand } from "./score.js";
import { sweepCommand } from "./sweep.js";

/** Exit codes (contract): 0 all SHIP · 1 a NO-SHIP · 2 bad input, nothing ran · 3 could not complete · 130/143 interrupted (SIGINT/SIGTERM). */
export const EXIT = {
  ok: 0,
  noShip: 1,
  badInput: 2,
  failed: 3,
  sigint: 130,
  sigterm: 143,
} as const;

function report(error: unknown, verbose: boolean): number {
  if (error instanceof InterruptedError) {
    process.stderr.write(`qbench: ${error.message}\n`);
    return error.signal === "SIGTERM" ? EXIT.sigterm : EXIT.sigint;
  }
  if (error instanceof InputError) {
    process.stderr.write(`qbench: ${error.message}\n`);
    return EXIT.badInput;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`qbench: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else if (!(error instanceof QbenchError))
    process.stderr.write("(run with --verbose for the stack)\n");
  return EXIT.failed;
}

ignoreClosedPipe(process.stdout);
ignoreClosedPipe(process.stderr);

const argv = hideBin(process.argv);
const verbose = argv.includes("--verbose");

try {
  await yargs(argv)
    .scriptName("qbench")
    .usage(
      "$0 <command> [options]\n\nEvaluate and benchmark quantized variants of a model side by side.",
    )
    .command(runCommand)
    .command(gateCommand)
    .command(reportCommand)
    .command(compareCommand)
    .command(historyCommand)
    .command(mergeCommand)
    .command(scoreCommand)
    .command(pplCommand)
    .command(quantizeCommand)
    .command(inspectCommand)
    .command(sweepCommand)
    .command(doctorCommand)
    .option("verbose", {
      type: "boolean",
      describe: "Show stacks and runner logs on errors",
      global: true,
    })
    .demandCommand(1, "name a command (qbench run runs the bundled demo)")
    .strict()
    .fail((message, error) => {
      if (error) throw error;
      throw new InputError("BAD_USAGE", `${message} (see qbench --help)`);
    })
    .help()
    .version()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .parseAsync();
} catch (error) {
  process.exitCode = report(error, verbose);
}
