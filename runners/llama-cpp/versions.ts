import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** qbench's own version: the runner ships with it. */
export function runnerVersion(): string {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  return String(readJson(join(root, "package.json"))?.version ?? "unknown");
}

/** node-llama-cpp's version and the llama.cpp release it bundles. */
export function engineVersion(): string {
  // The package's exports hide package.json, so find it from the resolved entry point.
  const entry = fileURLToPath(import.meta.resolve("node-llama-cpp"));
  const root = join(dirname(entry), "..");
  const version = readJson(join(root, "package.json"))?.version ?? "unknown";
  const tag = readJson(join(root, "llama", "llama.cpp.info.json"))?.tag ?? "unknown";
  return `node-llama-cpp ${version} (llama.cpp ${tag})`;
}
