/**
 * How qbench's own cost grows with the work: DB write time per finished item at 1k / 10k / 100k
 * stored items (one transaction per item, as a run writes them), and end-to-end items/s of a
 * whole `qbench run` through a test runner that answers instantly (so only the harness is timed).
 *
 *   node dist/bench/scaling.js [--e2e 1000,10000]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "../src/store/store.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "qbench-scaling-"));
const e2eSizes = (process.argv[process.argv.indexOf("--e2e") + 1] ?? "1000,10000")
  .split(",")
  .map(Number);

const PROVENANCE = {
  qbenchVersion: "bench",
  nodeVersion: process.version,
  host: "bench",
  platform: "bench",
  cpu: "bench",
  cpuCores: 1,
  memoryBytes: 1,
  gpu: null,
  gpuDriver: null,
  gitCommit: null,
  gitDirty: null,
};

function storeWrites(n: number): { seconds: number; perItemMs: number } {
  const path = join(dir, `store-${n}.db`);
  const store = Store.open(path);
  const runId = store.createRun({
    planName: "bench",
    planFile: "bench",
    planHash: "h",
    planJson: "{}",
    provenance: PROVENANCE,
  });
  const variant = store.upsertVariant(runId, {
    name: "v",
    precision: "int4",
    isBaseline: true,
    modelPath: "m",
    modelSha256: "s",
    modelBytes: 1,
    architecture: null,
    parameterCount: null,
    bitsPerWeight: null,
    tensorTypes: {},
    backendRequested: "cpu",
    runner: "bench",
    threads: 1,
    contextSize: 512,
  });
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    store.recordResult(variant.id, {
      suiteId: "s",
      itemId: `item-${i}`,
      repeat: 0,
      status: "ok",
      output: "the cat sat on the mat and then it slept",
      promptTokens: 40,
      completionTokens: 10,
      ttftMs: 12.5,
      tokenizeMs: 0.2,
      decodeMs: 40,
      totalMs: 53,
      ipcMs: 54,
      finishReason: "stop",
      metrics: {
        exact_match: i % 2,
        rouge1_precision: 0.5,
        rouge1_recall: 0.4,
        rouge1_f1: 0.44,
        rougeL_f1: 0.4,
      },
    });
  }
  const seconds = (performance.now() - started) / 1000;
  store.close();
  return { seconds, perItemMs: (seconds * 1000) / n };
}

function endToEnd(n: number): number {
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ id: `q${i}`, q: `question ${i}`, a: "the" }),
  );
  writeFileSync(join(dir, `items-${n}.jsonl`), `${lines.join("\n")}\n`);
  writeFileSync(
    join(dir, `suite-${n}.yaml`),
    `id: s${n}\ntemplate: "{{q}}"\nfields: [q, a]\ntarget: a\nmetrics:\n  - exact_match: {}\n  - rouge: { types: [rouge1, rougeL] }\ndata: items-${n}.jsonl\n`,
  );
  const fake = [process.execPath, join(root, "dist/test/support/fake-runners.js"), "long"];
  writeFileSync(
    join(dir, `plan-${n}.yaml`),
    [
      "name: scaling",
      "variants:",
      `  - { name: a, model: ${join(root, "models/demo/demo-f16.gguf")}, runner: { command: ${JSON.stringify(fake)} } }`,
      `suites: [suite-${n}.yaml]`,
      "warmup: 0",
      "topK: 0",
    ].join("\n"),
  );
  const started = performance.now();
  execFileSync(
    process.execPath,
    [
      join(root, "bin/qbench.js"),
      "run",
      join(dir, `plan-${n}.yaml`),
      "--db",
      join(dir, `e2e-${n}.db`),
      "--quiet",
      "--no-report",
    ],
    {
      stdio: "ignore",
    },
  );
  return n / ((performance.now() - started) / 1000);
}

console.log(
  "stored items   write time   per item    | end-to-end qbench run (instant test runner)",
);
for (const n of [1000, 10000, 100000]) {
  const w = storeWrites(n);
  const e2e = e2eSizes.includes(n) ? `${endToEnd(n).toFixed(0)} items/s` : "—";
  console.log(
    `${String(n).padStart(12)} ${w.seconds.toFixed(2).padStart(10)} s ${w.perItemMs.toFixed(3).padStart(8)} ms  | ${e2e}`,
  );
}
rmSync(dir, { recursive: true, force: true });
