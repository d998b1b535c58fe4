import { join } from "node:path";
import { execa } from "execa";
import { writeFiles } from "../support/cli.js";
import { ROOT, SUPPORT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The real CLI with an environment of our choosing (GITHUB_STEP_SUMMARY set or not, never inherited). */
export async function qbenchWithEnv(
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Promise<CliRun> {
  const { GITHUB_STEP_SUMMARY: _, ...inherited } = process.env;
  const result = await execa(process.execPath, [join(ROOT, "bin/qbench.js"), ...args], {
    cwd,
    reject: false,
    timeout: 300_000,
    extendEnv: false,
    env: { ...inherited, FORCE_COLOR: "0", ...env },
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

/**
 * A plan over the shared stories260K files: F16 baseline, Q8_0, Q4_0 and a variant whose runner
 * cannot load its model (a test runner: an out-of-memory load cannot be provoked here), over a
 * cloze suite and a perplexity suite.
 */
export function writeReportPlan(dir: string): string {
  writeFiles(dir, {
    "ppl.yaml": `id: stories-ppl\nmetrics:\n  - perplexity: { file: ${join(ROOT, "test/fixtures/ppl/stories.txt")}, ctx: 128 }\n`,
  });
  return writePlan(
    dir,
    [
      { name: "fp16" },
      { name: "q8_0", file: "stories260K-q8_0.gguf" },
      { name: "q4_0", file: "stories260K-q4_0.gguf" },
      { name: "oom", runner: [process.execPath, join(SUPPORT, "fake-runners.js"), "bad-load"] },
    ],
    [writeClozeSuite(dir, 10), join(dir, "ppl.yaml")],
    "gates: { inconclusive: ship }",
  );
}
