/**
 * Multiple-choice speed: qbench's `scoring: llama.cpp` items/s through the llama.cpp runner's
 * scoreChoices against `llama-perplexity --hellaswag` tasks/s, same model, same threads, same 40
 * HellaSwag-form tasks (test/fixtures/choices), each side tokenizing them as it does in a run
 * (qbench: the items' texts tokenized ahead, 64 items to a request, two items in flight). Startup is left out on both sides: qbench's
 * runner is started before the clock; llama-perplexity's per-task time is (time for 40 tasks −
 * time for 1 task) / 39. Min and median of --repeats runs, of wall time and of CPU time (qbench:
 * the runner process and this one, the client; llama-perplexity: its process), since on a shared
 * machine the wall figures move with the other jobs and the CPU ones much less.
 * `node dist/bench/choices.js [--model m.gguf] [--threads 1] [--repeats 3] [--tasks 40] [--llama-bin DIR]`
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { type ChoiceItem, scoreChoiceItem } from "../src/orchestrator/score-choices.js";
import { CHOICE_DEPTH } from "../src/orchestrator/suite-run.js";
import { TokenizeAhead } from "../src/orchestrator/tokenize-ahead.js";
import { resolveRunner } from "../src/runner-client/registry.js";
import { startRunner } from "../src/runner-client/start.js";
import { choiceMetric, loadSuite } from "../src/suites/load.js";
import { bin, fixtures, modelPath, repeats, tasks, threads } from "./choice-args.js";

const suite = loadSuite(join(fixtures, "hellaswag-llama-cpp.yaml"));
const found = choiceMetric(suite);
if (!found) throw new Error("the suite has no multiple_choice metric");
const options = found;
// The fixture's tasks cycled to --tasks on both sides: 40 tasks last ~0.2 s, too short to time here.
const n = tasks ?? suite.items.length;
const cycled = <T>(xs: readonly T[]): T[] =>
  Array.from({ length: n }, (_, i) => xs[i % xs.length] as T);

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: sorted[0] as number, median: sorted[Math.floor(sorted.length / 2)] as number };
};

/** Seconds of CPU a process has used (utime + stime), or with `children` its waited-for children. */
function cpuSeconds(pid: number | "self", children = false): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const at = children ? 13 : 11;
  return (Number(fields[at]) + Number(fields[at + 1])) / 100;
}

interface Times {
  wall: number[];
  cpu: number[];
}

/**
 * qbench's times: as a run scores the items (`run`), and interleaved with it the way items went
 * before 2026-12-04 (`serial`: each item's texts tokenized in its own request, one item in flight).
 */
async function qbenchSeconds(): Promise<{ run: Times; serial: Times }> {
  const load = { backend: "cpu" as const, contextSize: 256, seed: 1, threads, model: modelPath };
  const runner = await startRunner(resolveRunner("cpu", undefined), load, 120_000);
  const { client, init } = runner;
  const pid = client.pid;
  if (pid === undefined) throw new Error("the runner has no process id");
  const items: ChoiceItem[] = cycled(suite.items).map((item) => {
    const { texts, gold } = item.choices ?? { texts: [], gold: 0 };
    return { context: item.prompt, choices: texts, gold, options };
  });
  // As a run scores them: the items' texts tokenized ahead, a block to a request, and
  // CHOICE_DEPTH items in flight (src/orchestrator/suite-run.ts).
  const runners = { runner: async () => runner, failed: () => {} };
  const asRun = async () => {
    const ahead = new TokenizeAhead(items);
    let next = 0;
    const lane = async () => {
      while (next < items.length) {
        const at = next++;
        const known = await ahead.known(at, runners, 60_000);
        const item = items[at] as ChoiceItem;
        await scoreChoiceItem(client, item, 60_000, init.capabilities, undefined, known);
      }
    };
    await Promise.all(Array.from({ length: CHOICE_DEPTH }, lane));
  };
  const serially = async () => {
    for (const item of items) await scoreChoiceItem(client, item, 60_000, init.capabilities);
  };
  const timed = async (score: () => Promise<void>, into: Times) => {
    const started = performance.now();
    const runnerCpu = cpuSeconds(pid);
    const ownCpu = cpuUsage();
    await score();
    into.wall.push((performance.now() - started) / 1000);
    const own = cpuUsage(ownCpu);
    into.cpu.push(cpuSeconds(pid) - runnerCpu + (own.user + own.system) / 1e6);
  };
  const run: Times = { wall: [], cpu: [] };
  const serial: Times = { wall: [], cpu: [] };
  for (let r = 0; r < repeats; r++) {
    await timed(asRun, run);
    await timed(serially, serial);
  }
  await client.stop();
  return { run, serial };
}

function llamaSeconds(): Times | undefined {
  const exe = join(bin, "llama-perplexity");
  if (!existsSync(exe)) return undefined;
  const work = mkdtempSync(join(tmpdir(), "qbench-bench-choices-"));
  const file = join(work, "hellaswag.txt");
  const rows = cycled(
    readFileSync(join(fixtures, "hellaswag.jsonl"), "utf8").split("\n").filter(Boolean),
  );
  const lines = rows.map((row) => {
    const t = JSON.parse(row) as { ctx: string; label: number; endings: string[] };
    return [t.ctx, t.label, ...t.endings].join("\n");
  });
  writeFileSync(file, `${lines.join("\n")}\n`);
  const run = (tasks: number) => {
    const started = performance.now();
    const cpu = cpuSeconds("self", true);
    const args = ["-m", modelPath, "-c", "256", "-b", "256", "-t", String(threads)];
    execFileSync(exe, [...args, "--hellaswag", "--hellaswag-tasks", String(tasks), "-f", file], {
      stdio: "ignore",
      env: { ...process.env, LD_LIBRARY_PATH: bin },
    });
    return { wall: (performance.now() - started) / 1000, cpu: cpuSeconds("self", true) - cpu };
  };
  const times: Times = { wall: [], cpu: [] };
  for (let r = 0; r < repeats; r++) {
    const [all, one] = [run(n), run(1)];
    times.wall.push(((all.wall - one.wall) * n) / (n - 1));
    times.cpu.push(((all.cpu - one.cpu) * n) / (n - 1));
  }
  return times;
}

const { run: ours, serial } = await qbenchSeconds();
const theirs = llamaSeconds();
console.log(
  `${n} HellaSwag-form tasks, ${modelPath.split("/").pop()}, ${threads} thread(s), ${repeats} repeats`,
);
console.log(
  "| | qbench scoreChoices | llama-perplexity --hellaswag | qbench / llama.cpp (goal ≥ 0.9) | one at a time, own tokenize (before) |",
);
console.log("| --- | --- | --- | --- | --- |");
for (const kind of ["wall", "cpu"] as const) {
  const a = stats(ours[kind]);
  const before = stats(serial[kind]);
  const b = theirs ? stats(theirs[kind]) : undefined;
  for (const [label, x, y, z] of [
    ["min", a.min, b?.min, before.min],
    ["median", a.median, b?.median, before.median],
  ] as const) {
    const name = `tasks per ${kind === "wall" ? "wall" : "CPU"} second (${label} time)`;
    const other = y === undefined ? `(no ${bin}/llama-perplexity)` : (n / y).toFixed(1);
    const ratio = y === undefined ? "—" : (y / x).toFixed(2);
    const was = `${(n / z).toFixed(1)}${y === undefined ? "" : ` (${(y / z).toFixed(2)})`}`;
    console.log(`| ${name} | ${(n / x).toFixed(1)} | ${other} | ${ratio} | ${was} |`);
  }
}
