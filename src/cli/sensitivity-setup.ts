import { resolve } from "node:path";
import type { Argv } from "yargs";
import { InputError } from "../errors.js";
import { readImatrix } from "../gguf/quantize/imatrix.js";
import { checkModel } from "../plan/check-models.js";
import { Backend } from "../plan/schema.js";
import { TIGHT_COVERAGE } from "../scoring/kld.js";
import { perplexityText } from "../scoring/perplexity.js";
import { GROUPINGS, type Grouping } from "../sensitivity/groups.js";
import { KLD_METHODS, type KldMethod, type SensitivitySetup } from "../sensitivity/sensitivity.js";
import { readTextFile } from "../yaml/source.js";
import { DEFAULT_DB } from "./open-run.js";
import { runnerSpecFor } from "./runner-spec.js";

/** The options `qbench sensitivity` and `qbench mix` share. */
export interface PassArgs {
  model: string;
  text: string;
  by: Grouping;
  ctx: number;
  chunks: number | undefined;
  "top-k": number;
  kld: KldMethod;
  imatrix: string | undefined;
  backend: Backend;
  threads: string;
  db: string;
  "out-dir": string;
  "temp-dir": string | undefined;
}

export function passOptions<T>(y: Argv<T>, by: Grouping) {
  return y
    .positional("model", {
      type: "string",
      describe: "Source GGUF (F16/BF16/F32)",
      demandOption: true,
    })
    .positional("text", {
      type: "string",
      describe: "Calibration text (UTF-8)",
      demandOption: true,
    })
    .option("by", {
      choices: GROUPINGS,
      default: by,
      describe: "Groups: a layer, a tensor, or a role across layers",
    })
    .option("ctx", {
      type: "number",
      default: 512,
      describe: "Chunk length in tokens (llama-perplexity -c)",
    })
    .option("chunks", { type: "number", describe: "Score only the text's first N chunks" })
    .option("top-k", {
      type: "number",
      default: 512,
      describe: "Source log-probs kept per token for KLD",
    })
    .option("kld", {
      choices: KLD_METHODS,
      default: "auto" as KldMethod,
      describe:
        "top-k: against the source's top-K, computed once (a lower bound); exact: each variant's runner " +
        `evaluates the source in lockstep; auto: top-k where it covers ≥ ${100 * TIGHT_COVERAGE} % of the mass`,
    })
    .option("imatrix", {
      type: "string",
      describe: "Importance matrix (llama-imatrix's GGUF or .dat) for the quantizer",
    })
    .option("backend", {
      choices: Backend.options,
      default: "auto" as Backend,
      describe:
        "Compute backend (webgpu: one runner, each next variant swapped in by its changed tensors; else a runner per variant)",
    })
    .option("threads", { type: "string", default: "auto", describe: "CPU threads, or auto" })
    .option("db", {
      type: "string",
      default: DEFAULT_DB,
      describe: "SQLite database to store the results in",
    })
    .option("out-dir", {
      type: "string",
      default: "qbench-sensitivity",
      describe: "Folder for the HTML page and PNG heat maps",
    })
    .option("temp-dir", {
      type: "string",
      describe: "Where variant files are written and deleted (default: the OS's)",
    });
}

/** Checks the shared options once and turns them into the measurement's setup. */
export async function passSetup(
  args: PassArgs,
  log: (line: string) => void,
): Promise<SensitivitySetup> {
  const positiveInt = (name: string, value: number | undefined, least: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= least)) {
      throw new InputError("BAD_USAGE", `--${name} must be an integer ≥ ${least}, got ${value}`);
    }
  };
  positiveInt("ctx", args.ctx, 8);
  positiveInt("chunks", args.chunks, 1);
  positiveInt("top-k", args["top-k"], 1);
  const threads = args.threads === "auto" ? undefined : Number(args.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0)) {
    throw new InputError(
      "BAD_USAGE",
      `--threads must be a number ≥ 0 or auto, got ${args.threads}`,
    );
  }
  const model = resolve(args.model);
  const textPath = resolve(args.text);
  const text = perplexityText(readTextFile(textPath, "BAD_INPUT"));
  await checkModel(model);
  const imatrix =
    args.imatrix === undefined
      ? undefined
      : { path: args.imatrix, data: await readImatrix(resolve(args.imatrix)) };
  return {
    model,
    text,
    ctx: args.ctx,
    chunks: args.chunks,
    topK: args["top-k"],
    kld: args.kld,
    imatrix,
    tempDir: args["temp-dir"] === undefined ? undefined : resolve(args["temp-dir"]),
    spec: runnerSpecFor({ backend: args.backend, ctx: args.ctx, threads }),
    onTokenized: ({ tokenCount, chunks }) => {
      if (chunks.length === 0) {
        throw new InputError(
          "BAD_INPUT",
          `the text has ${tokenCount} tokens; --ctx ${args.ctx} needs at least ${args.ctx}`,
          { location: textPath },
        );
      }
      log(`calibration text: ${tokenCount} tokens, ${chunks.length} chunks of ${args.ctx} scored`);
    },
  };
}

/** `1m 05s`, `12s`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
