// Time of `qbench imatrix` (WebGPU runner) against llama-imatrix (CPU) on the same model, text
// and ctx, side by side: both run as the CLI a user would call (process start included), each
// --repeats times; fastest / median wall seconds and their ratio, and qbench's own evaluation
// seconds (chunks through the runner, without process start, runner spawn and model load).
// Prints how the two files agree as well (worst tensor, worst column, counts), and what the
// collection's kernels cost: the same chunks through the runner as `evaluate` (the layers, one
// output row) and as `collectImatrix` (the layers with the sums, no output row), alternated.
// Run: npx tsc -p tsconfig.json && node dist/bench/imatrix.js [--repeats 3] [--ctx 128]
//        [--threads 1] (llama-imatrix -t) [--text test/fixtures/ppl/stories.txt]
//        [--llama-imatrix /tmp/llama-src/build/bin/llama-imatrix] [--vocab ggml-vocab-llama-bpe.gguf] [MODEL …]
// Default models: stories260K F32 (../shared/models) and the real-shape F16 model (Llama 3's
// vocabulary on random weights, test/support/real-shape.ts).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { readImatrixFile } from "../src/gguf/imatrix-file.js";
import { resolveRunner } from "../src/runner-client/registry.js";
import { startRunner } from "../src/runner-client/start.js";
import { compareImatrices } from "../test/support/imatrix-agreement.js";
import { model, ROOT } from "../test/support/paths.js";
import { writeRealShape } from "../test/support/real-shape.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    repeats: { type: "string", default: "3" },
    ctx: { type: "string", default: "128" },
    threads: { type: "string", default: "1" },
    text: { type: "string", default: "test/fixtures/ppl/stories.txt" },
    "llama-imatrix": { type: "string", default: "/tmp/llama-src/build/bin/llama-imatrix" },
    vocab: { type: "string", default: "/tmp/llama-src/models/ggml-vocab-llama-bpe.gguf" },
  },
});
const repeats = Number(values.repeats);
const work = mkdtempSync(join(tmpdir(), "qbench-imatrix-bench-"));

function wall(command: string, args: string[]): { seconds: number; stdout: string } {
  const start = performance.now();
  const stdout = execFileSync(command, args, {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });
  return { seconds: (performance.now() - start) / 1000, stdout };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const minMedian = (xs: number[]) => {
  const s = sorted(xs);
  return { min: s[0] ?? Number.NaN, median: s[Math.floor(s.length / 2)] ?? Number.NaN };
};

async function benchModel(path: string): Promise<void> {
  const name = basename(path, ".gguf");
  const ours = join(work, `${name}.qbench.gguf`);
  const theirs = join(work, `${name}.llama.gguf`);
  const common = ["--ctx", values.ctx];
  const q: number[] = [];
  const qEval: number[] = [];
  const l: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const run = wall(process.execPath, [
      join(ROOT, "bin/qbench.js"),
      "imatrix",
      path,
      values.text,
      ...common,
      "--out",
      ours,
      "--json",
    ]);
    q.push(run.seconds);
    qEval.push((JSON.parse(run.stdout) as { eval_seconds: number }).eval_seconds);
    l.push(
      wall(values["llama-imatrix"], [
        ...["-m", path, "-f", values.text, "-c", values.ctx, "-t", values.threads],
        ...["--no-ppl", "-o", theirs],
      ]).seconds,
    );
  }
  const [qs, qe, ls] = [minMedian(q), minMedian(qEval), minMedian(l)];
  const agreement = compareImatrices(await readImatrixFile(ours), await readImatrixFile(theirs));
  const worst = (key: "tensor" | "maxColumn") =>
    agreement.reduce((w, m) => (m[key] > w[key] ? m : w));
  const f = (x: number) => x.toFixed(2);
  console.log(
    `| ${name} | ${f(qs.min)} / ${f(qs.median)} s (eval ${f(qe.min)} / ${f(qe.median)}) | ${f(ls.min)} / ${f(ls.median)} s | ` +
      `${f(ls.min / qs.min)}× / ${f(ls.median / qs.median)}× | ${worst("tensor").tensor.toExponential(2)} (${worst("tensor").name}) | ` +
      `${worst("maxColumn").maxColumn.toExponential(2)} (${worst("maxColumn").name}) | ${agreement.every((m) => m.countsEqual) ? "yes" : "NO"} |`,
  );
}

/** Fastest of the repeats: ms for the chunks as evaluate, and as collectImatrix. */
async function tapCost(path: string, ctx: number): Promise<{ plain: number; tapped: number }> {
  const { client, loaded } = await startRunner(
    resolveRunner("webgpu", undefined),
    { model: path, backend: "webgpu", contextSize: ctx, seed: 0, threads: 0 },
    600_000,
  );
  try {
    const vocab = loaded.vocabularySize;
    const chunks = Array.from({ length: 8 }, (_, k) =>
      Array.from({ length: ctx }, (_, i) => (k * 131 + i * 17) % vocab),
    );
    const plain: number[] = [];
    const tapped: number[] = [];
    for (let r = 0; r <= repeats; r++) {
      let t = performance.now();
      for (const tokens of chunks) {
        await client.request("evaluate", { tokens, scoreFrom: ctx - 1, topK: 0 });
      }
      const p = performance.now() - t;
      t = performance.now();
      for (const [i, c] of chunks.entries()) {
        // As qbench imatrix asks: F16 matmuls' inputs rounded as llama.cpp's CPU backend.
        const flags = { reset: i === 0, read: i === 7, f16Inputs: true };
        await client.request("collectImatrix", { chunks: [c], ...flags });
      }
      // The first round warms up (the collection's kernels compile on first use).
      if (r > 0) {
        plain.push(p);
        tapped.push(performance.now() - t);
      }
    }
    return { plain: minMedian(plain).min, tapped: minMedian(tapped).min };
  } finally {
    await client.stop();
  }
}

try {
  const models = positionals.length > 0 ? positionals : [model("stories260K-f32.gguf")];
  if (positionals.length === 0) {
    const realShape = join(work, "real-shape-f16.gguf");
    await writeRealShape(realShape, values.vocab);
    models.push(realShape);
  }
  console.log(
    `ctx ${values.ctx}, text ${values.text}, llama-imatrix -t ${values.threads} --no-ppl, ${repeats} repeats; ratio above 1: qbench is faster`,
  );
  console.log(
    "| model | qbench imatrix: fastest / median | llama-imatrix: fastest / median | llama ÷ qbench | worst tensor ‖Δ‖/‖ref‖ | worst column | counts equal |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const path of models) await benchModel(path);
  console.log("\nThe collection's kernels: 8 chunks through the runner, fastest of the repeats");
  console.log(
    "| model | evaluate (layers + 1 output row) | collectImatrix, f16Inputs (layers + sums + f16 rounding) | ratio |",
  );
  console.log("| --- | --- | --- | --- |");
  for (const path of models) {
    const { plain, tapped } = await tapCost(path, Number(values.ctx));
    console.log(
      `| ${basename(path, ".gguf")} | ${plain.toFixed(0)} ms | ${tapped.toFixed(0)} ms | ${(tapped / plain).toFixed(2)} |`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
