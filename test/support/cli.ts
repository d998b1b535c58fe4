import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { ROOT } from "./paths.js";

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI entry point (bin/qbench.js) as a user would. */
export async function qbench(
  args: string[],
  options: { cwd?: string; timeout?: number; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const result = await execa(process.execPath, [join(ROOT, "bin/qbench.js"), ...args], {
    cwd: options.cwd ?? ROOT,
    reject: false,
    timeout: options.timeout ?? 120_000,
    // `threads: auto` keeps the size rule and never writes the user's ~/.cache, unless a test asks.
    env: { FORCE_COLOR: "0", QBENCH_THREADS_CACHE: "off", ...options.env },
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

export function tempDir(prefix = "qbench-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes files (path → content) under a directory, creating it. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}
