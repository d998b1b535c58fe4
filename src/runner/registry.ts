import { fileURLToPath } from "node:url";
import { InputError } from "../errors.js";
import type { RunnerCommand } from "./client.js";
import type { Backend } from "./protocol.js";

/** The bundled runners, by name, as compiled scripts next to this file's tree. */
const BUNDLED: Record<string, string> = {
  "llama-cpp": "../../runners/llama-cpp/main.js",
  http: "../../runners/http/main.js",
  webgpu: "../../runners/webgpu/main.js",
};

export function bundledRunnerNames(): string[] {
  return Object.keys(BUNDLED);
}

/**
 * The command for a variant's runner: a bundled runner by name, or any program
 * speaking the runner protocol (`command: [file, ...args]`).
 */
export function resolveRunner(
  backend: Backend,
  runner: string | { command: string[] } | undefined,
): RunnerCommand {
  if (runner && typeof runner === "object") {
    const [file, ...args] = runner.command;
    if (!file) throw new InputError("BAD_PLAN", "runner.command is empty");
    return { name: file, file, args };
  }
  const name = runner ?? (backend === "webgpu" ? "webgpu" : "llama-cpp");
  const script = BUNDLED[name];
  if (!script) {
    throw new InputError(
      "BAD_PLAN",
      `unknown runner "${name}" (bundled: ${bundledRunnerNames().join(", ")})`,
    );
  }
  return { name, file: process.execPath, args: [fileURLToPath(new URL(script, import.meta.url))] };
}
