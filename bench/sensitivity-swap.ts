/**
 * What swap-weights saves qbench sensitivity on the WebGPU runner: the groups' passes with each
 * variant swapped into one runner against the same passes with a runner started and loaded per
 * variant (SensitivitySetup.reload), side by side in one run, alternating which goes first. Min
 * and median of --repeats, wall seconds. The figures of the two are the same to the bit
 * (test/sensitivity/swap.test.ts).
 *
 *   node dist/bench/sensitivity-swap.js [--model models/demo/demo-f16.gguf] [--by layer]
 *     [--ctx 128] [--chunks 4] [--repeats 3] [--mode only|except]
 */
import { runnerSpecFor } from "../src/cli/runner-spec.js";
import { perplexityText } from "../src/scoring/perplexity.js";
import type { Mode } from "../src/sensitivity/assign.js";
import { type Grouping, groupTensors } from "../src/sensitivity/groups.js";
import {
  type GroupResult,
  measureBaseline,
  measureGroups,
  type SensitivitySetup,
} from "../src/sensitivity/sensitivity.js";
import { DEMO_MODEL, demoCalibrationText } from "../test/support/fragile-model.js";

const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const ctx = Number(arg("--ctx", "128"));
const repeats = Number(arg("--repeats", "3"));
const mode = arg("--mode", "only") as Mode;
const Q4_K = 12;
const setup: SensitivitySetup = {
  model: arg("--model", DEMO_MODEL),
  text: perplexityText(demoCalibrationText()),
  ctx,
  chunks: Number(arg("--chunks", "4")),
  topK: 512,
  kld: "top-k",
  spec: runnerSpecFor({ backend: "webgpu", ctx, threads: undefined }),
};
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? Number.NaN, median: s[Math.floor((s.length - 1) / 2)] ?? Number.NaN };
};
const passes = (results: GroupResult[]) => results.reduce((sum, r) => sum + r.passSeconds, 0);

const baseline = await measureBaseline(setup);
const groups = groupTensors(baseline.tensors, arg("--by", "layer") as Grouping);
const swapped: number[] = [];
const reloaded: number[] = [];
let sameFigures = true;
for (let r = 0; r < repeats; r++) {
  const runs: Array<[boolean, number[]]> = [
    [false, swapped],
    [true, reloaded],
  ];
  if (r % 2 === 1) runs.reverse();
  const figures: string[] = [];
  for (const [reload, into] of runs) {
    const results = await measureGroups(
      { ...baseline, setup: { ...setup, reload } },
      groups,
      Q4_K,
      mode,
    );
    into.push(passes(results));
    figures.push(JSON.stringify(results.map((x) => x.figures)));
  }
  sameFigures &&= figures[0] === figures[1];
}
const line = (what: string, xs: number[]) => {
  const x = stats(xs);
  return `${what.padEnd(40)} min ${x.min.toFixed(2)} s  median ${x.median.toFixed(2)} s`;
};
console.log(
  `sensitivity on WebGPU, ${setup.model}: ${groups.length} groups, Q4_K --mode ${mode}, ${setup.chunks} chunks of ${ctx}, ${repeats} repeats`,
);
console.log(line("  groups' passes, swapped into one runner", swapped));
console.log(line("  groups' passes, a runner per variant", reloaded));
console.log(
  `  swapped / reloaded = ${(stats(swapped).median / stats(reloaded).median).toFixed(3)} (median), ${(stats(swapped).min / stats(reloaded).min).toFixed(3)} (min)`,
);
console.log(`  the same figures both ways: ${sameFigures}`);
