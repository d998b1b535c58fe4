/**
 * The KV cache formula against llama.cpp's own allocation, per model and cache type:
 * `node dist/bench/kv-cache.js [--ctx 2048] [--model a.gguf ...]` (default: the shared test
 * models and a Llama-layout GQA model written here with a real 32k tokenizer).
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readGguf } from "../lib/gguf/reader.js";
import { kvCacheBytes, kvCacheProblem, kvCells, kvShapeOf } from "../src/capacity/kv-cache.js";
import { resolveRunner } from "../src/runner-client/registry.js";
import { startRunner } from "../src/runner-client/start.js";
import { writeGqaLlama } from "./quantize.js";

const shared = fileURLToPath(new URL("../../../shared/models/", import.meta.url));
const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const ctx = Number(arg("--ctx", "2048"));
const MIB = 1024 * 1024;

async function gqaModel(): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "qbench-kv-")), "gqa-4x256.gguf");
  await writeGqaLlama(path, join(shared, "llama-2-tiny-random.gguf"));
  return path;
}

const models = process.argv.includes("--model")
  ? process.argv.flatMap((a, i) => (process.argv[i - 1] === "--model" ? [a] : []))
  : [
      join(shared, "stories260K-f32.gguf"),
      join(shared, "llama-2-tiny-random.gguf"),
      await gqaModel(),
    ];
const caches = [
  { k: "f16", v: "f16" },
  { k: "q8_0", v: "q8_0" },
  { k: "q4_0", v: "q4_0" },
  { k: "q8_0", v: "f16" },
];
console.log(`| model | K / V | cells | formula MiB | engine MiB | difference |`);
console.log(`| --- | --- | --- | --- | --- | --- |`);
for (const path of models) {
  const shape = kvShapeOf(await readGguf(path));
  for (const kv of caches) {
    const name = path.split("/").pop();
    const problem = kvCacheProblem(shape, kv);
    if (problem) {
      console.log(`| ${name} | ${kv.k} / ${kv.v} | — | — | — | refused: ${problem} |`);
      continue;
    }
    const started = await startRunner(
      resolveRunner("cpu", undefined),
      { model: path, backend: "cpu", contextSize: ctx, seed: 1, threads: 1, kvCache: kv },
      120_000,
    );
    await started.client.stop();
    const engine = started.loaded.engineMemory;
    const cells = kvCells(shape, started.loaded.contextSize, started.loaded.contextSize);
    const formula = kvCacheBytes(shape, cells, kv).total;
    const measured = engine?.kvBytes ?? Number.NaN;
    const diff = ((measured - formula) / formula) * 100;
    console.log(
      `| ${name} | ${kv.k} / ${kv.v} | ${engine?.kvCells ?? "?"} | ${(formula / MIB).toFixed(3)} | ${(measured / MIB).toFixed(2)} | ${diff.toFixed(2)} % |`,
    );
  }
}
