/**
 * Multiple-choice speed: qbench's `scoring: llama.cpp` items/s through the llama.cpp runner's
 * scoreChoices against `llama-perplexity --hellaswag` tasks/s, same model, same threads, same 40
 * HellaSwag-form tasks (test/fixtures/choices). Startup is left out on both sides: qbench's
 * runner is started before the clock; llama-perplexity's per-task time is (time for 40 tasks −
 * time for 1 task) / 39. Min and median of --repeats runs, of wall time and of CPU time (qbench:
 * the runner process and this one, the client; llama-perplexity: its process), since on a shared
 * machine the wall figures move with the other jobs and the CPU ones much less.
 * `node dist/bench/choices.js [--model m.gguf] [--threads 1] [--repeats 3] [--llama-bin DIR]`
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { scoreChoiceItem } from "../src/orchestrator/score-choices.js";
import { resolveRunner } from "../src/runner-client/registry.js";
import { startRunner } from "../src/runner-client/start.js";
import { choiceMetric, loadSuite } from "../src/suites/load.js";
import { bin, fixtures, modelPath, repeats, threads } from "./choice-args.js";

const suite = loadSuite(join(fixtures, "hellaswag-llama-cpp.yaml"));
const found = choiceMetric(suite);
if (!found) throw new Error("the suite has no multiple_choice metric");
const options = found;
const n = suite.items.length;

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

async function qbenchSeconds(): Promise<Times> {
  const load = { backend: "cpu" as const, contextSize: 256, seed: 1, threads, model: modelPath };
  const { client, init } = await startRunner(resolveRunner("cpu", undefined), load, 120_000);
  const pid = client.pid;
  if (pid === undefined) throw new Error("the runner has no process id");
  const times: Times = { wall: [], cpu: [] };
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    const runnerCpu = cpuSeconds(pid);
    const ownCpu = cpuUsage();
    for (const item of suite.items) {
      const { texts, gold } = item.choices ?? { texts: [], gold: 0 };
      await scoreChoiceItem(
        client,
        { context: item.prompt, choices: texts, gold, options },
        60_000,
        init.capabilities,
      );
    }
    times.wall.push((performance.now() - started) / 1000);
    const own = cpuUsage(ownCpu);
    times.cpu.push(cpuSeconds(pid) - runnerCpu + (own.user + own.system) / 1e6);
  }
  await client.stop();
  return times;
}

function llamaSeconds(): Times | undefined {
  const exe = join(bin, "llama-perplexity");
  if (!existsSync(exe)) return undefined;
  const work = mkdtempSync(join(tmpdir(), "qbench-bench-choices-"));
  const file = join(work, "hellaswag.txt");
  const rows = readFileSync(join(fixtures, "hellaswag.jsonl"), "utf8").split("\n").filter(Boolean);
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

const ours = await qbenchSeconds();
const theirs = llamaSeconds();
console.log(
  `${n} HellaSwag-form tasks, ${modelPath.split("/").pop()}, ${threads} thread(s), ${repeats} repeats`,
);
console.log(
  "| | qbench scoreChoices | llama-perplexity --hellaswag | qbench / llama.cpp (goal ≥ 0.9) |",
);
console.log("| --- | --- | --- | --- |");
for (const kind of ["wall", "cpu"] as const) {
  const a = stats(ours[kind]);
  const b = theirs ? stats(theirs[kind]) : undefined;
  for (const [label, x, y] of [
    ["min", a.min, b?.min],
    ["median", a.median, b?.median],
  ] as const) {
    const name = `tasks per ${kind === "wall" ? "wall" : "CPU"} second (${label} time)`;
    const other = y === undefined ? `(no ${bin}/llama-perplexity)` : (n / y).toFixed(1);
    const ratio = y === undefined ? "—" : (y / x).toFixed(2);
    console.log(`| ${name} | ${(n / x).toFixed(1)} | ${other} | ${ratio} |`);
  }
}
