import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageVersion, readJson } from "../shared/versions.js";

/** node-llama-cpp's version and the llama.cpp release it bundles. */
export function engineVersion(): string {
  // The package's exports hide package.json, so find it from the resolved entry point.
  const entry = fileURLToPath(import.meta.resolve("node-llama-cpp"));
  const root = join(dirname(entry), "..");
  const tag = readJson(join(root, "llama", "llama.cpp.info.json"))?.tag ?? "unknown";
  return `node-llama-cpp ${packageVersion(root)} (llama.cpp ${tag})`;
}
