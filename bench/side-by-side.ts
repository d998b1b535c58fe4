/**
 * What the side-by-side benches (bench/kld-pair.ts, bench/ppl-pair.ts, bench/native-scorer.ts) share: their flags, a
 * command timed under /usr/bin/time, and the median.
 */
import { spawnSync } from "node:child_process";

/** The value after `name` on the command line, or `fallback`. */
export const arg = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};

/** GNU time: the CPU figures (user + system of a command and its children). */
export const TIME = "/usr/bin/time";

/** Runs a command under /usr/bin/time: its output, wall seconds, user + system seconds. */
export function timed(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { stdout: string; stderr: string; wall: number; cpu: number } {
  const started = performance.now();
  const result = spawnSync(TIME, ["-f", "cpu %U %S", file, ...args], {
    encoding: "utf8",
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const wall = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${file} failed: ${result.stderr.slice(-2000)}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr);
  const cpu = m ? Number(m[1]) + Number(m[2]) : Number.NaN;
  return { stdout: result.stdout, stderr: result.stderr, wall, cpu };
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
