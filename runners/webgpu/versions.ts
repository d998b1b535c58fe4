import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageVersion } from "../shared/versions.js";

/** The Dawn binding and the tokenizer's engine, e.g. `Dawn (npm webgpu 0.6.2); …`. */
export function engineVersion(): string {
  const dawn = packageVersion(dirname(fileURLToPath(import.meta.resolve("webgpu"))));
  const llama = packageVersion(
    join(dirname(fileURLToPath(import.meta.resolve("node-llama-cpp"))), ".."),
  );
  return `Dawn (npm webgpu ${dawn}); tokenizer node-llama-cpp ${llama}`;
}
