/** Versions a runner reports in `initialize`, read from package.json files. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A parsed JSON file, or undefined when it is missing or not JSON. */
export function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The `version` of the package whose root is `root`, or "unknown". */
export function packageVersion(root: string): string {
  return String(readJson(join(root, "package.json"))?.version ?? "unknown");
}

/** qbench's own version: the runners ship with it. */
export function runnerVersion(): string {
  return packageVersion(fileURLToPath(new URL("../../../", import.meta.url)));
}
