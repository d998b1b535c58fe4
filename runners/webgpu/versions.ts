import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function packageVersion(root: string): string {
  try {
    const json = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      version?: string;
    };
    return json.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** qbench's own version: the runner ships with it. */
export function runnerVersion(): string {
  return packageVersion(fileURLToPath(new URL("../../../", import.meta.url)));
}

/** The Dawn binding and the tokenizer's engine, e.g. `Dawn (npm webgpu 0.6.2); …`. */
export function engineVersion(): string {
  const dawn = packageVersion(dirname(fileURLToPath(import.meta.resolve("webgpu"))));
  const llama = packageVersion(
    join(dirname(fileURLToPath(import.meta.resolve("node-llama-cpp"))), ".."),
  );
  return `Dawn (npm webgpu ${dawn}); tokenizer node-llama-cpp ${llama}`;
}
