/**
 * The searched mix at the size of Q4_K_M against Q4_K_M, on held-out text: `qbench mix` on a
 * calibration text, then a normal `qbench run` of a plan with the source (baseline), Q4_K_M and
 * the mix on a perplexity suite of a different text, exact KLD. Prints both variants' sizes,
 * mean KLD with the run's intervals, p99, same-top and ppl ratio side by side, and the
 * sensitivity cost. Whatever the figures say is the result: nothing here is tuned to a winner.
 *
 *   node dist/bench/mix-vs-stock.js --model demo   [--by tensor] [--chunks N]
 *   node dist/bench/mix-vs-stock.js --model real-shape [--by layer] [--chunks 2]
 *
 * demo: models/demo, calibration = the stories of suites/data/demo-stories.jsonl, held out =
 * suites/data/demo-heldout.txt (ctx 128). real-shape: test/support/real-shape.ts's model (Llama
 * 3's tokenizer, random weights), calibration = test/fixtures/ppl/stories.txt, held out =
 * suites/data/heldout-stories.txt (ctx 128).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEMO_MODEL, demoCalibrationText } from "../test/support/fragile-model.js";
import { ROOT } from "../test/support/paths.js";
import { bundledVocab, writeRealShape } from "../test/support/real-shape.js";

const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const which = arg("--model", "demo");
const by = arg("--by", which === "demo" ? "tensor" : "layer");
const chunks = arg("--chunks", which === "demo" ? "" : "2");
const work = `/tmp/qbench-bench/mix-vs-stock-${which}`;
mkdirSync(work, { recursive: true });

const qbench = (args: string[]) =>
  execFileSync(process.execPath, [join(ROOT, "bin/qbench.js"), ...args], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, QBENCH_THREADS_CACHE: "off" },
  });
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").at(-1) ?? "{}");

let model = DEMO_MODEL;
let calib = join(work, "calib.txt");
let heldout = join(ROOT, "suites/data/demo-heldout.txt");
if (which === "demo") writeFileSync(calib, demoCalibrationText());
else {
  model = join(work, "real-shape-f16.gguf");
  await writeRealShape(model, bundledVocab(work));
  calib = join(ROOT, "test/fixtures/ppl/stories.txt");
  heldout = join(ROOT, "suites/data/heldout-stories.txt");
}
const mixPath = join(work, "mix.gguf");
const common = ["--ctx", "128", "--backend", "cpu", "--threads", "1", "--kld", "exact"];
const mix = lastJson(
  qbench([
    "mix",
    model,
    calib,
    "--by",
    by,
    ...(chunks ? ["--chunks", chunks] : []),
    "--budget",
    "q4_k_m",
    "--out",
    mixPath,
    "--db",
    join(work, "q.db"),
    "--out-dir",
    join(work, "pages"),
    ...common,
  ]),
);
writeFileSync(
  join(work, "heldout.yaml"),
  `id: heldout\ndescription: held-out text\nmetrics:\n  - perplexity:\n      file: ${heldout}\n      ctx: 128\n`,
);
const plan = join(work, "plan.yaml");
writeFileSync(
  plan,
  [
    "name: mix-vs-stock",
    `from: ${model}`,
    "variants:",
    `  - { model: ${model}, name: source, precision: fp16, baseline: true }`,
    "  - { quantize: q4_k_m, name: q4_k_m }",
    `  - { model: ${mixPath}, name: mix, precision: mixed }`,
    "suites: [heldout.yaml]",
    "backend: cpu",
    "contextSize: 128",
    "threads: 1",
    "kldMethod: exact",
    "warmup: 0",
    `cacheDir: ${join(work, "cache")}`,
  ].join("\n"),
);
const run = lastJson(qbench(["run", plan, "--db", join(work, "run.db"), "--json"]));
type Reason = { gate: string; value: number; interval: [number, number]; message: string };
const rows = (run.verdicts as { variant: string; reasons: Reason[] }[])
  .filter((v) => v.variant !== "source")
  .map((v) => {
    const variant = (run.variants as { name: string; modelBytes: number }[]).find(
      (x) => x.name === v.variant,
    );
    const kld = v.reasons.find((r) => r.gate === "kld");
    const ppl = v.reasons.find((r) => r.gate === "perplexity");
    return { variant: v.variant, bytes: variant?.modelBytes, kld, ppl };
  });
console.log(
  `${which}: mix by ${by}${chunks ? `, ${chunks} calibration chunks` : ""}: ${mix.passes} passes + 1, ${mix.seconds.toFixed(0)} s; recipe ${mix.tensor_types.length} --tensor-type overrides on ${mix.base_type}`,
);
console.log("variant   file bytes  mean KLD (95 % CI)                     ppl ratio (95 % CI)");
for (const r of rows) {
  const ci = (x?: Reason) =>
    x
      ? `${x.value.toExponential(3)} (${x.interval[0].toExponential(2)} … ${x.interval[1].toExponential(2)})`
      : "?";
  console.log(
    `${r.variant.padEnd(8)}  ${String(r.bytes).padStart(10)}  ${ci(r.kld).padEnd(38)} ${r.ppl ? `${r.ppl.value.toFixed(5)} (${r.ppl.interval[0].toFixed(5)} … ${r.ppl.interval[1].toFixed(5)})` : "?"}`,
  );
}
for (const r of rows) console.log(`  ${r.variant}: ${r.kld?.message}`);
