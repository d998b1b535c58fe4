import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { InputError, messageOf, RunError } from "../errors.js";
import { type ManagedServer, startManagedServer } from "../runner-client/managed-server.js";
import { Store } from "../store/store.js";
import { loadSuite } from "../suites/load.js";
import {
  describeLevel,
  type LevelResult,
  runLoadSweep,
  type SweepLevel,
  type SweepOptions,
} from "../sweep/load-sweep.js";
import { formatSweepTable } from "../sweep/table.js";
import { checkHttpUrl } from "./check-url.js";
import { DEFAULT_DB } from "./open-run.js";

interface SweepArgs {
  url: string;
  model: string | undefined;
  chat: boolean;
  "server-command": string | undefined;
  health: string;
  "ready-timeout": number;
  prompts: string | undefined;
  suite: string | undefined;
  concurrency: string | undefined;
  rate: string | undefined;
  "max-concurrency": number | undefined;
  requests: number;
  "max-seconds": number;
  "max-tokens": number;
  "ttft-budget-ms": number | undefined;
  "itl-budget-ms": number | undefined;
  timeout: number;
  seed: number;
  warmup: number;
  "api-key-env": string | undefined;
  label: string | undefined;
  db: string | undefined;
  json: boolean;
}

/** Splits a command line on spaces, keeping "double" or 'single' quoted parts whole. */
export function splitCommand(line: string): string[] {
  const parts: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    parts.push(match[1] ?? match[2] ?? match[3] ?? "");
  }
  return parts;
}

function numbers(flag: string, list: string): number[] {
  const values = list.split(",").map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !(v > 0))) {
    throw new InputError(
      "BAD_USAGE",
      `--${flag} takes positive numbers separated by commas, got ${list}`,
    );
  }
  return values;
}

function levelsFrom(args: SweepArgs): SweepLevel[] {
  if (args.concurrency !== undefined && args.rate !== undefined) {
    throw new InputError("BAD_USAGE", "give --concurrency or --rate, not both");
  }
  if (args.rate !== undefined) {
    const cap = args["max-concurrency"];
    return numbers("rate", args.rate).map((rate) => ({
      rate,
      ...(cap ? { maxConcurrency: cap } : {}),
    }));
  }
  const levels = numbers("concurrency", args.concurrency ?? "1,2,4");
  if (levels.some((c) => !Number.isInteger(c))) {
    throw new InputError("BAD_USAGE", `--concurrency takes whole numbers, got ${args.concurrency}`);
  }
  return levels.map((concurrency) => ({ concurrency }));
}

/** Prompts from a text file (one per line), a JSONL file ({"prompt"} per line) or a suite. */
function promptsFrom(args: SweepArgs): string[] {
  if (args.suite !== undefined) {
    const prompts = loadSuite(resolve(args.suite))
      .items.map((i) => i.prompt)
      .filter((p) => p !== "");
    if (prompts.length === 0)
      throw new InputError("BAD_SUITE", `${args.suite} has no generation prompts`);
    return prompts;
  }
  if (args.prompts === undefined)
    throw new InputError("BAD_USAGE", "give --prompts FILE or --suite FILE");
  let text: string;
  try {
    text = readFileSync(resolve(args.prompts), "utf8");
  } catch (error) {
    throw new InputError("BAD_INPUT", `cannot read prompts: ${messageOf(error)}`, {
      location: args.prompts,
      cause: error,
    });
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const prompts = args.prompts.endsWith(".jsonl")
    ? lines.map((line, i) => {
        try {
          const prompt = (JSON.parse(line) as { prompt?: unknown }).prompt;
          if (typeof prompt !== "string") throw new Error('no "prompt" string');
          return prompt;
        } catch (error) {
          throw new InputError("BAD_INPUT", messageOf(error), {
            location: `${args.prompts}:${i + 1}`,
            cause: error,
          });
        }
      })
    : lines;
  if (prompts.length === 0)
    throw new InputError("BAD_INPUT", "no prompts", { location: args.prompts });
  return prompts;
}

async function modelName(url: string, apiKey: string | undefined): Promise<string> {
  const response = await fetch(`${url.replace(/\/+$/, "").replace(/\/v1$/, "")}/v1/models`, {
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    signal: AbortSignal.timeout(10_000),
  }).catch((error: unknown) => {
    throw new RunError(`no server answers at ${url}: ${messageOf(error)}`, {
      cause: error,
    });
  });
  const body = (await response.json().catch(() => ({}))) as { data?: Array<{ id?: string }> };
  const id = body.data?.[0]?.id;
  if (!response.ok || !id)
    throw new RunError(`${url}/v1/models lists no model (status ${response.status})`);
  return id;
}

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: "sweep",
  describe: "Load sweep of an OpenAI-compatible server: throughput, TTFT/ITL percentiles, goodput",
  builder: (y) =>
    y
      .option("url", { type: "string", demandOption: true, describe: "The server's base URL" })
      .option("model", {
        type: "string",
        describe: "Model name to send (default: the server's first)",
      })
      .option("chat", { type: "boolean", default: false, describe: "Use /v1/chat/completions" })
      .option("server-command", {
        type: "string",
        describe: "Start this server first (its own process group) and stop it after",
      })
      .option("health", {
        type: "string",
        default: "/health",
        describe: "Readiness path of --server-command",
      })
      .option("ready-timeout", {
        type: "number",
        default: 600,
        describe: "Seconds to wait for readiness",
      })
      .option("prompts", {
        type: "string",
        describe: "Prompts: a text file (one per line) or .jsonl with prompt",
      })
      .option("suite", { type: "string", describe: "Or a suite file: its rendered prompts" })
      .option("concurrency", {
        type: "string",
        describe: "Concurrency levels, e.g. 1,2,4,8 (default 1,2,4)",
      })
      .option("rate", {
        type: "string",
        describe: "Or request rates in req/s (Poisson arrivals), e.g. 1,2,4",
      })
      .option("max-concurrency", {
        type: "number",
        describe: "Cap on requests in flight at a rate level",
      })
      .option("requests", { type: "number", default: 32, describe: "Requests per level at most" })
      .option("max-seconds", {
        type: "number",
        default: 60,
        describe: "No request is sent after this, per level",
      })
      .option("max-tokens", {
        type: "number",
        default: 64,
        describe: "max_tokens of every request",
      })
      .option("ttft-budget-ms", { type: "number", describe: "Goodput: TTFT budget per request" })
      .option("itl-budget-ms", {
        type: "number",
        describe: "Goodput: mean inter-token latency budget",
      })
      .option("timeout", { type: "number", default: 120, describe: "Seconds per request" })
      .option("seed", { type: "number", default: 42, describe: "Seed of arrivals and sampling" })
      .option("warmup", {
        type: "number",
        default: 1,
        describe: "Uncounted requests before the first level",
      })
      .option("api-key-env", {
        type: "string",
        describe: "Environment variable holding the API key",
      })
      .option("label", {
        type: "string",
        describe: "Name stored with the sweep (e.g. the variant)",
      })
      .option("db", {
        type: "string",
        describe: `Store the sweep in this SQLite database (e.g. ${DEFAULT_DB})`,
      })
      .option("json", { type: "boolean", default: false, describe: "Print the levels as JSON" })
      .example(
        "$0 sweep --url http://127.0.0.1:8080 --prompts prompts.txt --concurrency 1,4,16",
        "",
      )
      .example(
        "$0 sweep --url http://127.0.0.1:8080 --suite suites/demo-stories.yaml --rate 1,2,4 --ttft-budget-ms 500",
        "",
      ),
  handler: async (args) => {
    checkHttpUrl("--url", args.url);
    const levels = levelsFrom(args);
    const prompts = promptsFrom(args);
    for (const [flag, value] of [
      ["requests", args.requests],
      ["max-tokens", args["max-tokens"]],
    ] as const) {
      if (!(Number.isInteger(value) && value >= 1)) {
        throw new InputError("BAD_USAGE", `--${flag} must be a whole number ≥ 1, got ${value}`);
      }
    }
    if (!(args["max-seconds"] > 0) || !(args.timeout > 0)) {
      throw new InputError("BAD_USAGE", "--max-seconds and --timeout must be > 0");
    }
    let apiKey: string | undefined;
    if (args["api-key-env"] !== undefined) {
      apiKey = process.env[args["api-key-env"]];
      if (!apiKey)
        throw new InputError("BAD_USAGE", `environment variable ${args["api-key-env"]} is not set`);
    }
    let server: ManagedServer | undefined;
    try {
      if (args["server-command"] !== undefined) {
        server = await startManagedServer({
          command: splitCommand(args["server-command"]),
          url: args.url,
          health: args.health,
          readyTimeoutSeconds: args["ready-timeout"],
        });
        process.stderr.write(`server ready at ${server.url} (pid ${server.pid})\n`);
      }
      const options: SweepOptions = {
        target: {
          baseUrl: args.url,
          model: args.model ?? (await modelName(args.url, apiKey)),
          ...(apiKey ? { apiKey } : {}),
          chat: args.chat,
          timeoutSeconds: args.timeout,
        },
        prompts,
        maxTokens: args["max-tokens"],
        temperature: 0,
        levels,
        requestsPerLevel: args.requests,
        maxSecondsPerLevel: args["max-seconds"],
        budgets: {
          ...(args["ttft-budget-ms"] !== undefined ? { ttftMs: args["ttft-budget-ms"] } : {}),
          ...(args["itl-budget-ms"] !== undefined ? { itlMs: args["itl-budget-ms"] } : {}),
        },
        seed: args.seed,
        warmup: args.warmup,
        onLevel: (r: LevelResult) =>
          process.stderr.write(
            `${describeLevel(r.level)}: ${r.completed}/${r.requests} ok in ${r.durationS.toFixed(2)} s\n`,
          ),
      };
      const startedAt = new Date().toISOString();
      const results = await runLoadSweep(options);
      process.stdout.write(
        `${args.json ? JSON.stringify(results, null, 2) : formatSweepTable(results)}\n`,
      );
      if (args.db !== undefined) {
        const store = Store.open(resolve(args.db));
        try {
          const id = store.saveSweep(
            {
              variant: args.label ?? options.target.model,
              startedAt,
              finishedAt: new Date().toISOString(),
            },
            options,
            results,
          );
          process.stderr.write(`stored sweep ${id} in ${args.db}\n`);
        } finally {
          store.close();
        }
      }
      if (results.every((r) => r.completed === 0)) {
        throw new RunError(
          `every request failed; first error: ${results[0]?.errors[0] ?? "unknown"}`,
        );
      }
    } finally {
      await server?.stop();
    }
  },
};
