/**
 * The command-line settings bench/choices.ts and bench/choices-breakdown.ts share: the model,
 * threads, repeats, where the llama.cpp tools are, and the choice fixtures.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
export const modelPath = arg("--model", join(root, "../shared/models/stories260K-f32.gguf"));
export const threads = Number(arg("--threads", "1"));
export const repeats = Number(arg("--repeats", "3"));
/** Tasks per timed run: the fixture's 40 cycled (bench/choices.ts), or undefined for the 40. */
export const tasks = process.argv.includes("--tasks") ? Number(arg("--tasks", "40")) : undefined;
export const bin = arg("--llama-bin", "/tmp/llama-src/build/bin");
export const fixtures = join(root, "test/fixtures/choices");
