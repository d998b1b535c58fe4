import { fileURLToPath } from "node:url";
import { InputError } from "../errors.js";
import type { RunnerCommand } from "./client.js";
import type { Backend } from "./protocol.js";

interface BundledRunner {
  /** The compiled script, relative to this file's tree. */
  script: string;
  /** The backends it runs besides `auto` (as its `initialize` lists them on a machine that has them all). */
  backends: readonly Backend[];
}

/** The bundled runners, by name, as compiled scripts next to this file's tree. */
const BUNDLED: Record<string, BundledRunner> = {
  "llama-cpp": {
    script: "../../runners/llama-cpp/main.js",
    backends: ["cpu", "cuda", "vulkan", "metal"],
  },
  // The server picks its device; the backend is only passed on.
  http: {
    script: "../../runners/http/main.js",
    backends: ["cpu", "cuda", "vulkan", "metal", "webgpu"],
  },
  webgpu: { script: "../../runners/webgpu/main.js", backends: ["webgpu"] },
};

export function bundledRunnerNames(): string[] {
  return Object.keys(BUNDLED);
}

type RunnerChoice = string | { command: string[] } | undefined;

/**
 * The command for a variant's runner: a bundled runner by name, or any program
 * speaking the runner protocol (`command: [file, ...args]`).
 */
export function resolveRunner(backend: Backend, runner: RunnerChoice): RunnerCommand {
  if (runner && typeof runner === "object") {
    const [file, ...args] = runner.command;
    if (!file) throw new InputError("BAD_PLAN", "runner.command is empty");
    return { name: file, file, args };
  }
  const name = runner ?? defaultRunner(backend);
  const script = bundledRunner(name).script;
  return { name, file: process.execPath, args: [fileURLToPath(new URL(script, import.meta.url))] };
}

/**
 * A variant's backend given the plan's and its own: a bundled runner that runs one backend
 * implies it (`runner: webgpu` alone means backend webgpu); a pair the runner cannot run is
 * refused here, when the plan is checked, not by the runner after others have run.
 * Any error is about the variant's backend if it names one, else about its runner.
 */
export function resolveVariantBackend(
  planBackend: Backend,
  variant: { backend?: Backend | undefined; runner?: RunnerChoice },
): Backend {
  const runner = variant.runner;
  if (runner !== undefined && typeof runner === "object") return variant.backend ?? planBackend;
  const backend = variant.backend ?? planBackend;
  const name = runner ?? defaultRunner(backend);
  const { backends } = bundledRunner(name);
  const only = backends.length === 1 ? backends[0] : undefined;
  if (variant.backend === undefined && runner !== undefined && only !== undefined) return only;
  if (backend === "auto" || backends.includes(backend)) return backend;
  const whose = variant.backend === undefined ? `the plan's backend ${backend}` : backend;
  throw new InputError(
    "BAD_PLAN",
    `runner ${name} runs backends ${["auto", ...backends].join(", ")}, not ${whose}`,
  );
}

function defaultRunner(backend: Backend): string {
  return backend === "webgpu" ? "webgpu" : "llama-cpp";
}

function bundledRunner(name: string): BundledRunner {
  const found = BUNDLED[name];
  if (!found) {
    throw new InputError(
      "BAD_PLAN",
      `unknown runner "${name}" (bundled: ${bundledRunnerNames().join(", ")})`,
    );
  }
  return found;
}
