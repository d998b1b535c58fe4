/**
 * Multiple-choice speed: qbench's `scoring: llama.cpp` items/s through the llama.cpp runner's
 * scoreChoices against `llama-perplexity --hellaswag` tasks/s, same model, same threads, same 40
 * HellaSwag-form tasks (test/fixtures/choices). Startup is left out on both sides: qbench's
 * runner is started before the clock; llama-perplexity's per-task time is (time for 40 tasks −
 * time for 1 task) / 39. Min and median of --repeats runs.
 * `node dist/bench/choices.js [--model m.gguf] [--threads 1] [--repeats 3] [--llama-bin DIR]`
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { scoreChoiceItem } from "../src/orchestrator/score-choices.js";
import { resolveRunner } from "../src/runner-client/registry.js";
import { startRunner } from "../src/runner-client/start.js";
import { choiceMetric, loadSuite } from "../src/suites/load.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const modelPath = arg("--model", join(root, "../shared/models/stories260K-f32.gguf"));
const threads = Number(arg("--threads", "1"));
const repeats = Number(arg("--repeats", "3"));
const bin = arg("--llama-bin", "/tmp/llama-src/build/bin");
const fixtures = join(root, "test/fixtures/choices");

const suite = loadSuite(join(fixtures, "hellaswag-llama-cpp.yaml"));
const found = choiceMetric(suite);
if (!found) throw new Error("the suite has no multiple_choice metric");
const options = found;
const n = suite.items.length;

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: sorted[0] as number, median: sorted[Math.floor(sorted.length / 2)] as number };
};

async function qbenchSeconds(): Promise<number[]> {
  const load = { backend: "cpu" as const, contextSize: 256, seed: 1, threads, model: modelPath };
  const { client, init } = await startRunner(resolveRunner("cpu", undefined), load, 120_000);
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    for (const item of suite.items) {
      const { texts, gold } = item.choices ?? { texts: [], gold: 0 };
      await scoreChoiceItem(
        client,
        { context: item.prompt, choices: texts, gold, options },
        60_000,
        init.capabilities,
      );
    }
    times.push((performance.now() - started) / 1000);
  }
  await client.stop();
  return times;
}

function llamaSeconds(): number[] | undefined {
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
    const args = ["-m", modelPath, "-c", "256", "-b", "256", "-t", String(threads)];
    execFileSync(exe, [...args, "--hellaswag", "--hellaswag-tasks", String(tasks), "-f", file], {
      stdio: "ignore",
      env: { ...process.env, LD_LIBRARY_PATH: bin },
    });
    return (performance.now() - started) / 1000;
  };
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) times.push(((run(n) - run(1)) * n) / (n - 1));
  return times;
}

const ours = stats(await qbenchSeconds());
const theirs = llamaSeconds();
console.log(
  `${n} HellaSwag-form tasks, ${modelPath.split("/").pop()}, ${threads} thread(s), ${repeats} repeats`,
);
console.log(
  "| | qbench scoreChoices | llama-perplexity --hellaswag | qbench / llama.cpp (goal ≥ 0.9) |",
);
console.log("| --- | --- | --- | --- |");
if (!theirs) {
  console.log(
    `| tasks/s (min time) | ${(n / ours.min).toFixed(1)} | (no ${bin}/llama-perplexity) | — |`,
  );
} else {
  const t = stats(theirs);
  for (const [label, a, b] of [
    ["tasks/s (min time)", ours.min, t.min],
    ["tasks/s (median time)", ours.median, t.median],
  ] as const) {
    console.log(
      `| ${label} | ${(n / a).toFixed(1)} | ${(n / b).toFixed(1)} | ${(b / a).toFixed(2)} |`,
    );
  }
}
