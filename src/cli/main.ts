import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { InputError } from "../errors.js";
import { ignoreClosedPipe } from "./closed-pipe.js";
import { compareCommand } from "./compare.js";
import { doctorCommand } from "./doctor.js";
import { formatError } from "./format-error.js";
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
import { viewCommand } from "./view.js";

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
    .command(viewCommand)
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
  const { stderr, exitCode } = formatError(error, verbose);
  process.stderr.write(stderr);
  process.exitCode = exitCode;
}
