/**
 * What a sensitivity pass over N groups costs against its bound: (N + 1) × one KLD pass plus N
 * quantizations. One KLD pass and one quantization are timed alone first (a Q4_K variant of
 * the first group, the same functions `qbench sensitivity` uses: spawn, load, tokenize, score
 * against the stored baseline); then the whole sensitivity pass, split into the source's pass,
 * the groups' passes, their quantizations and the rest. Min and median of --repeats, in wall
 * seconds and in CPU seconds (this process and its runners, from /proc/self/stat: the machine
 * is shared, so the CPU figures are the steadier ones).
 *
 *   node dist/bench/sensitivity-cost.js [--model models/demo/demo-f16.gguf] [--by layer]
 *     [--ctx 128] [--chunks N] [--repeats 3] [--kld top-k|exact]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
/** CPU seconds of this process and its reaped children (the runners): utime+stime+cutime+cstime. */
const cpuSeconds = () => {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of proc(5); the slice starts at field 3.
  return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / 100;
};
const dir = mkdtempSync(join(tmpdir(), "qbench-sens-cost-"));
const pass: number[] = [];
const quant: number[] = [];
const total: number[] = [];
const cpu = {
  pass: [] as number[],
  quant: [] as number[],
  total: [] as number[],
  base: [] as number[],
};
/** Σ over chunks: the runner's evaluate (evalMs), and the request's round trip beyond it (IPC, JSON). */
const where = {
  baseEval: [] as number[],
  baseIpc: [] as number[],
  passEval: [] as number[],
  passIpc: [] as number[],
};
const chunkSplit = (p: { scored: { evalMs: number; ipcMs: number }[] }) => ({
  evalS: p.scored.reduce((sum, c) => sum + c.evalMs, 0) / 1000,
  ipcS: p.scored.reduce((sum, c) => sum + c.ipcMs - c.evalMs, 0) / 1000,
});
const split = {
  base: [] as number[],
  passes: [] as number[],
  quant: [] as number[],
  rest: [] as number[],
};
let groupCount = 0;
try {
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    const cpuStarted = cpuSeconds();
    const baseline = await measureBaseline(setup);
    cpu.base.push(cpuSeconds() - cpuStarted);
    const groups = groupTensors(baseline.tensors, by);
    const results = await measureGroups(baseline, groups, Q4_K, "only");
    const seconds = (performance.now() - started) / 1000;
    total.push(seconds);
    cpu.total.push(cpuSeconds() - cpuStarted);
    groupCount = groups.length;
    const passes = results.reduce((sum, r) => sum + r.passSeconds, 0);
    const quantizations = results.reduce((sum, r) => sum + r.quantizeSeconds, 0);
    split.base.push(baseline.pass.seconds);
    const b = chunkSplit(baseline.pass);
    where.baseEval.push(b.evalS);
    where.baseIpc.push(b.ipcS);
    split.passes.push(passes);
    split.quant.push(quantizations);
    split.rest.push(seconds - baseline.pass.seconds - passes - quantizations);
    // One quantization and one KLD pass alone, for the bound.
    const first = groups[0];
    if (!first) throw new Error("no groups");
    const a = groupAssignment(baseline.tensors, first, Q4_K, "only");
    const out = join(dir, "one.gguf");
    let at = cpuSeconds();
    const q = await quantizeGguf({
      input: model,
      output: out,
      target: targetFor(Q4_K),
      pure: true,
      tensorTypes: toOverrides(assignmentOverrides(baseline.tensors, a, Q4_K)),
    });
    quant.push(q.seconds);
    cpu.quant.push(cpuSeconds() - at);
    at = cpuSeconds();
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
    const v = chunkSplit(p);
    where.passEval.push(v.evalS);
    where.passIpc.push(v.ipcS);
    cpu.pass.push(cpuSeconds() - at);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const line = (what: string, xs: number[], digits = 2) => {
  const x = stats(xs);
  return `${what.padEnd(34)} min ${x.min.toFixed(digits)} s  median ${x.median.toFixed(digits)} s`;
};
const ratio = (whole: number[], one: number[], q: number[]) => {
  const bound = (groupCount + 1) * stats(one).median + groupCount * stats(q).median;
  return `bound (N+1) x pass + N x quantization = ${bound.toFixed(2)} s; measured / bound = ${(stats(whole).median / bound).toFixed(3)} (median), ${(stats(whole).min / bound).toFixed(3)} (min)`;
};
console.log(
  `sensitivity by ${by} on ${model}: N = ${groupCount} groups, --kld ${setup.kld}, ${repeats} repeats`,
);
console.log("wall seconds");
console.log(line("  one KLD pass (a variant's)", pass));
console.log(line("  one quantization", quant, 3));
console.log(line("  whole sensitivity", total));
console.log(line("    of which the source's pass", split.base));
console.log(line("    of which the N groups' passes", split.passes));
console.log(line("    of which the N quantizations", split.quant, 3));
console.log(line("    of which the rest", split.rest, 3));
const meanGroupPass = split.passes.map((x) => x / groupCount);
console.log(line("  a group's pass, mean over the N", meanGroupPass));
console.log(
  `  the source's pass / a group's mean pass = ${(stats(split.base).median / stats(meanGroupPass).median).toFixed(3)} (median)`,
);
console.log(
  `  with one pass = a group's mean: ${ratio(
    total,
    meanGroupPass,
    split.quant.map((x) => x / groupCount),
  )}`,
);
console.log(`  ${ratio(total, pass, quant)}`);
console.log(line("  source's pass: runner's evaluate", where.baseEval));
console.log(line("  source's pass: IPC beyond it", where.baseIpc));
console.log(line("  a variant's pass: runner's evaluate", where.passEval));
console.log(line("  a variant's pass: IPC beyond it", where.passIpc));
console.log("CPU seconds (this process + its runners)");
console.log(line("  one KLD pass (a variant's)", cpu.pass));
console.log(line("  one quantization", cpu.quant, 3));
console.log(line("  whole sensitivity", cpu.total));
console.log(line("    of which the source's pass", cpu.base));
console.log(`  ${ratio(cpu.total, cpu.pass, cpu.quant)}`);
