import yargs, { type CommandModule } from "yargs";
import { hideBin } from "yargs/helpers";
import { InputError } from "../errors.js";
import { ignoreClosedPipe } from "./closed-pipe.js";
import { formatError } from "./format-error.js";

/**
 * Each command's module, loaded on demand: a command pays only for its own imports (the quantizer
 * does not load SQLite, the viewer's server or the report's charts), which is most of a short
 * command's time. `--help` and an unknown command load them all. The order is `--help`'s.
 */
// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument type
const COMMANDS: Record<string, () => Promise<CommandModule<object, any>>> = {
  run: async () => (await import("./run.js")).runCommand,
  gate: async () => (await import("./gate.js")).gateCommand,
  report: async () => (await import("./report.js")).reportCommand,
  compare: async () => (await import("./compare.js")).compareCommand,
  history: async () => (await import("./history.js")).historyCommand,
  merge: async () => (await import("./merge.js")).mergeCommand,
  score: async () => (await import("./score.js")).scoreCommand,
  ppl: async () => (await import("./ppl.js")).pplCommand,
  quantize: async () => (await import("./quantize.js")).quantizeCommand,
  imatrix: async () => (await import("./imatrix.js")).imatrixCommand,
  inspect: async () => (await import("./inspect.js")).inspectCommand,
  sensitivity: async () => (await import("./sensitivity.js")).sensitivityCommand,
  mix: async () => (await import("./mix.js")).mixCommand,
  sweep: async () => (await import("./sweep.js")).sweepCommand,
  view: async () => (await import("./view.js")).viewCommand,
  doctor: async () => (await import("./doctor.js")).doctorCommand,
};

ignoreClosedPipe(process.stdout);
ignoreClosedPipe(process.stderr);

const argv = hideBin(process.argv);
const verbose = argv.includes("--verbose");
const named = argv.find((arg) => !arg.startsWith("-"));
const only = named !== undefined && Object.hasOwn(COMMANDS, named) ? named : undefined;
const loaders = Object.entries(COMMANDS)
  .filter(([name]) => only === undefined || name === only)
  .map(([, load]) => load);

try {
  await yargs(argv)
    .scriptName("qbench")
    .usage(
      "$0 <command> [options]\n\nEvaluate and benchmark quantized variants of a model side by side.",
    )
    .command(await Promise.all(loaders.map((load) => load())))
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
