/**
 * The native scorer's speed, side by side: `qbench ppl` scoring through the native scorer
 * (native/scorer.cc), the same with `QBENCH_NATIVE_SCORER=0` (node-llama-cpp's JS path), and
 * `llama-perplexity -b <ctx>` (how the committed references are made), interleaved repeat by repeat
 * on one model, one text and one thread count. Prints tokens/s and CPU seconds (min / median),
 * the ratios, and each tool's perplexity (native and JS must agree to the last digit).
 *
 *   node dist/bench/native-scorer.js [--model m.gguf] [--text t.txt] [--ctx 128] [--threads 1]
 *     [--repeats 3] [--tools /tmp/llama-src/build/bin]
 *
 * Default model: stories260K Q8_0 (../shared/models); the 128k-vocabulary one is
 * `node dist/bench/real-shape.js --model-only`'s file. Default text: test/fixtures/ppl/stories.txt.
 * `--tools`: a llama-perplexity built natively from node-llama-cpp's bundle (bench/real-shape.ts's
 * header), or on node-llama-cpp's own prebuilt libraries, the engine qbench runs on
 * (`bash scripts/build-llama-perplexity-prebuilt.sh /tmp/lp-prebuilt`), which isolates what the
 * harness and the scorer cost from what the engine build does.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { perplexityLogRate } from "./llama-perplexity-log.js";
import { arg, median, TIME } from "./side-by-side.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const model = arg("--model", join(root, "../shared/models/stories260K-q8_0.gguf"));
const text = arg("--text", join(root, "test/fixtures/ppl/stories.txt"));
const ctx = Number(arg("--ctx", "128"));
const threads = Number(arg("--threads", "1"));
const repeats = Number(arg("--repeats", "3"));
const tools = arg("--tools", "/tmp/llama-src/build/bin");
const work = "/tmp/qbench-bench/native-scorer";

interface Run {
  tps: number;
  cpu: number;
  /** Peak RSS of the largest process (qbench's runner, or llama-perplexity), MiB. */
  rssMiB: number;
  ppl: number;
}

/** Runs a command under /usr/bin/time (user + system seconds, peak RSS on its last stderr line). */
function timed(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { out: string; cpu: number; rssMiB: number } {
  const useTime = existsSync(TIME);
  const result = useTime
    ? spawnSync(TIME, ["-f", "cpu %U %S %M", file, ...args], { env, encoding: "utf8" })
    : spawnSync(file, args, { env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${file} failed: ${result.stderr.slice(-2000)}`);
  const m = /cpu ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(result.stderr);
  return {
    out: result.stdout,
    cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN,
    rssMiB: m ? Number(m[3]) / 1024 : Number.NaN,
  };
}

function qbenchPpl(native: boolean): Run {
  const env = { ...process.env, QBENCH_NATIVE_SCORER: native ? "1" : "0" };
  const args = [join(root, "bin/qbench.js"), "ppl", model, text, "--ctx", String(ctx)];
  const { out, cpu, rssMiB } = timed(
    process.execPath,
    [...args, "--backend", "cpu", "--threads", String(threads)],
    env,
  );
  const last = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
    tokens_per_second: number;
    ppl: number;
  };
  return { tps: last.tokens_per_second, cpu, rssMiB, ppl: last.ppl };
}

/**
 * As bench/overhead.ts: evaluated tokens over the time between llama-perplexity's "calculating
 * perplexity over N chunks" and "Final estimate" log lines; its log goes through a file.
 */
function llamaPerplexity(): Run {
  const log = join(work, "llama-perplexity.log");
  const command = `"${join(tools, "llama-perplexity")}" -m "${model}" -f "${text}" -c ${ctx} -b ${ctx} -t ${threads} -dev none > "${log}" 2>&1`;
  const { cpu, rssMiB } = timed("sh", ["-c", command], process.env);
  return { ...perplexityLogRate(readFileSync(log, "utf8"), ctx), cpu, rssMiB };
}

function main(): void {
  mkdirSync(work, { recursive: true });
  const haveTools = existsSync(join(tools, "llama-perplexity"));
  if (!haveTools)
    process.stderr.write(`no llama-perplexity in ${tools}: qbench's two paths only\n`);
  process.stderr.write(`model ${model}, ctx ${ctx}, ${threads} thread(s), ${repeats} repeats\n`);
  const runs: Record<string, Run[]> = { native: [], js: [], "llama-perplexity": [] };
  for (let r = 0; r < repeats; r++) {
    // Interleaved, so that the machine's background load falls on all three alike.
    if (haveTools) runs["llama-perplexity"]?.push(llamaPerplexity());
    runs.native?.push(qbenchPpl(true));
    runs.js?.push(qbenchPpl(false));
  }
  const row = (name: string, list: Run[]) => {
    if (list.length === 0) return;
    const tps = list.map((r) => r.tps);
    const cpu = list.map((r) => r.cpu);
    process.stdout.write(
      `${name.padEnd(34)} tok/s max ${Math.max(...tps).toFixed(1)} median ${median(tps).toFixed(1)}   CPU s min ${Math.min(...cpu).toFixed(2)} median ${median(cpu).toFixed(2)}   peak RSS ${Math.max(...list.map((r) => r.rssMiB)).toFixed(0)} MiB   ppl ${list[0]?.ppl}\n`,
    );
  };
  row("qbench ppl, native scorer", runs.native ?? []);
  row("qbench ppl, JS path (=0)", runs.js ?? []);
  row("llama-perplexity -b ctx", runs["llama-perplexity"] ?? []);
  const ratio = (a: Run[] = [], b: Run[] = [], pick: (r: Run) => number, best: "max" | "min") => {
    if (a.length === 0 || b.length === 0) return "—";
    const bestOf = (xs: number[]) => (best === "max" ? Math.max(...xs) : Math.min(...xs));
    const x = a.map(pick);
    const y = b.map(pick);
    return `${(bestOf(x) / bestOf(y)).toFixed(3)} best / ${(median(x) / median(y)).toFixed(3)} median`;
  };
  const lp = runs["llama-perplexity"];
  process.stdout.write(
    `native / llama-perplexity tok/s: ${ratio(runs.native, lp, (r) => r.tps, "max")}; whole-process CPU (theirs / ours): ${ratio(lp, runs.native, (r) => r.cpu, "min")}\n`,
  );
  process.stdout.write(
    `native / JS path tok/s: ${ratio(runs.native, runs.js, (r) => r.tps, "max")}; whole-process CPU (JS / native): ${ratio(runs.js, runs.native, (r) => r.cpu, "min")}\n`,
  );
  const same = (runs.native ?? []).every((r, i) => r.ppl === runs.js?.[i]?.ppl);
  process.stdout.write(`native and JS perplexity identical: ${same ? "yes" : "NO"}\n`);
}

main();
