/**
 * Where perplexity's time goes at a large vocabulary, and what parallel sequences change:
 * node-llama-cpp called directly on one model, `--chunks` random windows of `--ctx` tokens, the
 * second half of each scored the way the llama.cpp runner scores it (the target's logit, the
 * greedy-selected one, the softmax weight), side by side in one process:
 *   - decode only (no logits asked): the engine's share;
 *   - scored, 1 window at a time (what `evaluate` does);
 *   - scored, N windows as parallel sequences of one batch (what `evaluateBatch` does).
 * Prints CPU seconds and wall seconds (min / median of `--repeats`) and the scored runs' NLL sums,
 * which must be equal across modes. Asserts nothing.
 *
 *   node dist/bench/ppl-windows.js --model m.gguf [--ctx 512] [--chunks 4] [--windows 2,4] [--threads 1] [--repeats 3]
 */
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const modelPath = arg("--model", "");
if (!modelPath) {
  process.stderr.write("usage: ppl-windows --model m.gguf [--ctx 512] [--chunks 4] …\n");
  process.exit(2);
}
const ctx = Number(arg("--ctx", "512"));
const chunks = Number(arg("--chunks", "4"));
const threads = Number(arg("--threads", "1"));
const repeats = Number(arg("--repeats", "3"));
const windowCounts = arg("--windows", "2,4").split(",").map(Number);

const llama = await getLlama({
  gpu: false,
  build: "never",
  maxThreads: threads,
  logLevel: LlamaLogLevel.error,
});
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const vocabulary = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 32_000;
let seed = 7;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return (seed % (vocabulary - 1)) as Token;
};
const windows = Array.from({ length: chunks }, () => Array.from({ length: ctx }, random));
const GREEDY = { temperature: 0 };

type Sequence = ReturnType<Awaited<ReturnType<typeof model.createContext>>["getSequence"]>;

async function scoreWindow(sequence: Sequence, tokens: Token[], scored: boolean): Promise<number> {
  await sequence.clearHistory();
  const from = ctx / 2;
  if (!scored) {
    await sequence.controlledEvaluate(tokens);
    return 0;
  }
  const input = tokens.map((token, i) => {
    const next = tokens[i + 1];
    if (i < from || next === undefined) return token;
    const filter = { tokens: [next], includeSelected: true };
    const generateNext = { logits: { filter }, totalLogitWeight: true, options: GREEDY };
    return [token, { generateNext }] as [Token, { generateNext: typeof generateNext }];
  });
  const outputs = await sequence.controlledEvaluate(input);
  let nll = 0;
  for (let i = from; i < ctx - 1; i++) {
    const next = outputs[i]?.next;
    if (!next?.logits || next.totalLogitWeight === undefined) throw new Error(`no logits at ${i}`);
    const max = Math.max(...next.logits.values());
    nll -=
      (next.logits.get(tokens[i + 1] as Token) ?? Number.NaN) -
      max -
      Math.log(next.totalLogitWeight);
  }
  return nll;
}

async function run(parallel: number, scored: boolean) {
  const context = await model.createContext({
    contextSize: ctx,
    batchSize: ctx * parallel,
    sequences: parallel,
    threads,
    flashAttention: true,
  });
  const sequences = Array.from({ length: parallel }, () => context.getSequence());
  const wall: number[] = [];
  const cpu: number[] = [];
  let nll = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    nll = 0;
    for (let i = 0; i < chunks; i += parallel) {
      const sums = await Promise.all(
        sequences
          .slice(0, Math.min(parallel, chunks - i))
          .map((sequence, j) => scoreWindow(sequence, windows[i + j] as Token[], scored)),
      );
      nll += sums.reduce((a, b) => a + b, 0);
    }
    const used = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / 1000);
    cpu.push((used.user + used.system) / 1e6);
  }
  await context.dispose();
  return { wall, cpu, nll };
}

const stat = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
  };
};
const modes: Array<[string, number, boolean]> = [
  ["decode only, 1 window at a time", 1, false],
  ["scored, 1 window at a time", 1, true],
  ...windowCounts.map((n): [string, number, boolean] => [
    `scored, ${n} windows per batch`,
    n,
    true,
  ]),
];
process.stdout.write(
  `${modelPath}: vocabulary ${vocabulary}, ${chunks} windows of ${ctx}, ${chunks * (ctx / 2 - 1)} scored positions, ${threads} thread(s), ${repeats} repeats\n`,
);
process.stdout.write(
  "| mode | CPU s min / median | wall s min / median | CPU vs 1 window | NLL sum |\n| --- | --- | --- | --- | --- |\n",
);
let oneWindowCpu = Number.NaN;
for (const [label, parallel, scored] of modes) {
  const { wall, cpu, nll } = await run(parallel, scored);
  const c = stat(cpu);
  const w = stat(wall);
  if (scored && parallel === 1) oneWindowCpu = c.median;
  const ratio = scored && parallel > 1 ? (c.median / oneWindowCpu).toFixed(2) : "—";
  process.stdout.write(
    `| ${label} | ${c.min.toFixed(2)} / ${c.median.toFixed(2)} | ${w.min.toFixed(2)} / ${w.median.toFixed(2)} | ${ratio} | ${scored ? nll.toFixed(4) : "—"} |\n`,
  );
}
await model.dispose();
await llama.dispose();
