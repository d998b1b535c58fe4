/**
 * Where scoreChoices' time goes, next to `llama-perplexity --hellaswag` on the same 40 tasks
 * (test/fixtures/choices), same model and threads. In one process (the runner's code, without
 * its IPC), per task, min and median of --repeats, interleaved:
 * - `scoreChoices`: the llama.cpp runner's scoreChoices, as `qbench run` scores an item;
 * - `same decodes, no ending reads`: the same context decode, KV copies and ending decode
 *   through node-llama-cpp, without the per-position `generateNext` log-prob reads of the endings
 *   (the context's last position still read): what the decodes alone cost;
 * - `scoreChoices, flash attention off`: the same on a context without flash attention;
 * - `context decode + KV copies only`, `context decode only`: the steps before, alone;
 * - `endings decode alone`: the endings' decode from cleared sequences (no context, no KV copy
 *   before it; a one-token decode first, so the pool is the same): the decode's own cost;
 * - `llama-perplexity`: (time for 40 tasks − time for 1 task) / 39 of its process.
 * CPU seconds are the process's (every thread: node-llama-cpp decodes and samples on libuv's
 * pool), so they hold on a loaded machine where wall time does not.
 * `node dist/bench/choices-breakdown.js [--model m.gguf] [--threads 1] [--repeats 3] [--llama-bin DIR]`
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { getLlama, type LlamaContextSequence, type Token } from "node-llama-cpp";
import { type ChoicesState, scoreChoices } from "../runners/llama-cpp/choices.js";
import { hellaswagSequences, planShared } from "../src/scoring/choices.js";
import { loadSuite } from "../src/suites/load.js";
import { bin, fixtures, modelPath, repeats, threads } from "./choice-args.js";

const llama = await getLlama({ gpu: false });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const contextOptions = { flashAttention: true, threads, batchSize: 256 };
const state: ChoicesState = {
  contextSize: 256,
  createContext: (sequences, size) =>
    model.createContext({ ...contextOptions, contextSize: size, batchSize: size, sequences }),
};
/** The same with flash attention off: attention as matmul + softmax instead of the per-row FA kernel. */
const noFlash: ChoicesState = {
  contextSize: 256,
  createContext: (sequences, size) =>
    model.createContext({
      ...contextOptions,
      flashAttention: false,
      contextSize: size,
      batchSize: size,
      sequences,
    }),
};
const bos = model.tokens.bos;
const tokenize = (text: string): number[] => [
  ...(model.tokens.shouldPrependBosToken && bos != null ? [bos] : []),
  ...model.tokenize(text, false),
];

// As the orchestrator's `scoring: llama.cpp` plans an item: context + " " + ending, the common
// prefix shared.
const suite = loadSuite(join(fixtures, "hellaswag-llama-cpp.yaml"));
const items = suite.items.map((item) => {
  const texts = item.choices?.texts ?? [];
  const plan = planShared(hellaswagSequences(texts.map((t) => tokenize(`${item.prompt} ${t}`))));
  return { context: plan.context, continuations: plan.continuations };
});
const n = items.length;
const positions = items.reduce(
  (sum, item) => sum + item.continuations.reduce((s, c) => s + c.length - 1, 0),
  0,
);

type CopyingSequence = LlamaContextSequence & {
  _copyStateFromOtherSequence(other: LlamaContextSequence, upTo: number): Promise<boolean>;
};

/**
 * scoreChoices' steps up to `stage`: the context decode (its last position read), then the KV
 * copies, then the endings' decode without a read at any of their positions.
 */
async function decodesOnly(
  item: (typeof items)[number],
  stage: "context" | "copies" | "endings",
): Promise<void> {
  const { context, continuations } = item;
  const longest = Math.max(...continuations.map((c) => c.length));
  await scoreChoices(state, { context, continuations: [[continuations[0]?.[0] as number]] });
  const sequences = state.pool?.sequences ?? [];
  const [first] = sequences as [LlamaContextSequence];
  if (stage === "context") return;
  await Promise.all(
    continuations.map(async (c, i) => {
      if (i > 0 && c.length > 1) {
        await (sequences[i] as CopyingSequence)._copyStateFromOtherSequence(first, context.length);
      }
    }),
  );
  if (stage === "copies") return;
  await decodeEndings(sequences, continuations, longest);
}

/** Each ending but its last token on its own sequence, padded to the longest as scoreChoices pads. */
function decodeEndings(
  sequences: readonly LlamaContextSequence[],
  continuations: readonly number[][],
  longest: number,
): Promise<unknown> {
  return Promise.all(
    continuations.map((c, i) => {
      const body = c.slice(0, -1) as Token[];
      if (body.length === 0) return Promise.resolve([]);
      while (body.length < longest - 1) body.push(body.at(-1) as Token);
      return (sequences[i] as LlamaContextSequence).controlledEvaluate(body);
    }),
  );
}

/** The endings' decode of `decodesOnly` from empty sequences: no KV copy before it. */
async function endingsAlone(item: (typeof items)[number]): Promise<void> {
  const { continuations } = item;
  const longest = Math.max(...continuations.map((c) => c.length));
  await scoreChoices(state, { context: [continuations[0]?.[0] as number], continuations: [[0]] });
  const sequences = state.pool?.sequences ?? [];
  await Promise.all(sequences.map((s) => s.clearHistory()));
  await decodeEndings(sequences, continuations, longest);
}

const variants: Record<string, (item: (typeof items)[number]) => Promise<unknown>> = {
  scoreChoices: (item) => scoreChoices(state, item),
  "scoreChoices, flash attention off": (item) => scoreChoices(noFlash, item),
  "same decodes, no ending reads": (item) => decodesOnly(item, "endings"),
  "context decode + KV copies only": (item) => decodesOnly(item, "copies"),
  "context decode only": (item) => decodesOnly(item, "context"),
  "endings decode alone (no context, no copy)": endingsAlone,
};
const times: Record<string, { wall: number[]; cpu: number[] }> = {};
for (const name of Object.keys(variants)) times[name] = { wall: [], cpu: [] };
for (const item of items) await scoreChoices(state, item); // pool made, code warm
for (const item of items) await scoreChoices(noFlash, item);
for (let r = 0; r < repeats; r++) {
  for (const [name, run] of Object.entries(variants)) {
    const started = performance.now();
    const cpu = cpuUsage();
    for (const item of items) await run(item);
    const used = cpuUsage(cpu);
    times[name]?.wall.push((performance.now() - started) / n);
    times[name]?.cpu.push((used.user + used.system) / 1000 / n);
  }
}
await state.pool?.context.dispose();
await noFlash.pool?.context.dispose();
await model.dispose();

/** Seconds of CPU this process's waited-for children have used. */
function childCpuSeconds(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const exe = join(bin, "llama-perplexity");
if (existsSync(exe)) {
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
    const cpu = childCpuSeconds();
    const args = ["-m", modelPath, "-c", "256", "-b", "256", "-t", String(threads)];
    execFileSync(exe, [...args, "--hellaswag", "--hellaswag-tasks", String(tasks), "-f", file], {
      stdio: "ignore",
      env: { ...process.env, LD_LIBRARY_PATH: bin },
    });
    return { wall: performance.now() - started, cpu: (childCpuSeconds() - cpu) * 1000 };
  };
  const theirs = { wall: [] as number[], cpu: [] as number[] };
  for (let r = 0; r < repeats; r++) {
    const [all, one] = [run(n), run(1)];
    theirs.wall.push((all.wall - one.wall) / (n - 1));
    theirs.cpu.push((all.cpu - one.cpu) / (n - 1));
  }
  times["llama-perplexity --hellaswag"] = theirs;
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: sorted[0] as number, median: sorted[Math.floor(sorted.length / 2)] as number };
};
console.log(
  `${n} HellaSwag-form tasks (${positions} ending positions read), ${modelPath.split("/").pop()}, ${threads} thread(s), ${repeats} repeats, in one process`,
);
console.log("| per task | CPU ms (min) | CPU ms (median) | wall ms (min) | wall ms (median) |");
console.log("| --- | --- | --- | --- | --- |");
for (const [name, t] of Object.entries(times)) {
  const [cpu, wall] = [stats(t.cpu), stats(t.wall)];
  const cells = [cpu.min, cpu.median, wall.min, wall.median].map((x) => x.toFixed(2));
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
if (!existsSync(exe)) console.log(`(no ${exe}: llama-perplexity not measured)`);
