/**
 * What a sensitivity pass over N groups costs against its bound: (N + 1) × one KLD pass plus N
 * quantizations. One KLD pass and one quantization are timed alone first (a Q4_K variant of
 * the first group, the same functions `qbench sensitivity` uses: spawn, load, tokenize, score
 * against the stored baseline); then the whole sensitivity pass. Min and median of --repeats.
 *
 *   node dist/bench/sensitivity-cost.js [--model models/demo/demo-f16.gguf] [--by layer]
 *     [--ctx 128] [--chunks N] [--repeats 3] [--kld top-k|exact]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quantizeGguf } from "../src/gguf/quantize/quantize-file.js";
import { resolveRunner } from "../src/runner-client/registry.js";
import { perplexityText } from "../src/scoring/perplexity.js";
import {
  assignmentOverrides,
  groupAssignment,
  targetFor,
  toOverrides,
} from "../src/sensitivity/assign.js";
import { type Grouping, groupTensors } from "../src/sensitivity/groups.js";
import { scorePass } from "../src/sensitivity/passes.js";
import {
  type KldMethod,
  measureBaseline,
  measureGroups,
  type SensitivitySetup,
} from "../src/sensitivity/sensitivity.js";
import { DEMO_MODEL, demoCalibrationText } from "../test/support/fragile-model.js";

const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const model = arg("--model", DEMO_MODEL);
const by = arg("--by", "layer") as Grouping;
const repeats = Number(arg("--repeats", "3"));
const chunks = arg("--chunks", "");
const Q4_K = 12;

const setup: SensitivitySetup = {
  model,
  text: perplexityText(demoCalibrationText()),
  ctx: Number(arg("--ctx", "128")),
  chunks: chunks ? Number(chunks) : undefined,
  topK: 512,
  kld: arg("--kld", "top-k") as KldMethod,
  spec: (path) => ({
    command: resolveRunner("cpu", undefined),
    load: {
      model: path,
      backend: "cpu",
      contextSize: Number(arg("--ctx", "128")),
      seed: 0,
      threads: 1,
    },
    loadTimeoutMs: 600_000,
  }),
};

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? Number.NaN, median: s[Math.floor((s.length - 1) / 2)] ?? Number.NaN };
};
const dir = mkdtempSync(join(tmpdir(), "qbench-sens-cost-"));
const pass: number[] = [];
const quant: number[] = [];
const total: number[] = [];
let groupCount = 0;
try {
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    const baseline = await measureBaseline(setup);
    const groups = groupTensors(baseline.tensors, by);
    await measureGroups(baseline, groups, Q4_K, "only");
    total.push((performance.now() - started) / 1000);
    groupCount = groups.length;
    // One quantization and one KLD pass alone, for the bound.
    const first = groups[0];
    if (!first) throw new Error("no groups");
    const a = groupAssignment(baseline.tensors, first, Q4_K, "only");
    const out = join(dir, "one.gguf");
    const q = await quantizeGguf({
      input: model,
      output: out,
      target: targetFor(Q4_K),
      pure: true,
      tensorTypes: toOverrides(assignmentOverrides(baseline.tensors, a, Q4_K)),
    });
    quant.push(q.seconds);
    const spec = setup.spec(out, q.outputBytes);
    if (baseline.exact) spec.load.reference = model;
    const p = await scorePass(spec, setup.text, {
      ctx: setup.ctx,
      chunks: setup.chunks,
      topK: 0,
      baseline: baseline.pass,
      reference: baseline.exact,
    });
    pass.push(p.seconds);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const P = stats(pass);
const Q = stats(quant);
const T = stats(total);
const bound = (groupCount + 1) * P.median + groupCount * Q.median;
console.log(
  `sensitivity by ${by} on ${model}: N = ${groupCount} groups, --kld ${setup.kld}, ${repeats} repeats`,
);
console.log(`one KLD pass       min ${P.min.toFixed(2)} s  median ${P.median.toFixed(2)} s`);
console.log(`one quantization   min ${Q.min.toFixed(3)} s  median ${Q.median.toFixed(3)} s`);
console.log(`whole sensitivity  min ${T.min.toFixed(2)} s  median ${T.median.toFixed(2)} s`);
console.log(
  `bound (N+1) x pass + N x quantization = ${bound.toFixed(2)} s; measured / bound = ${(T.median / bound).toFixed(3)} (median), ${(T.min / bound).toFixed(3)} (min)`,
);
