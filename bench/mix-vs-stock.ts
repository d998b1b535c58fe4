/**
 * The searched mix at the size of Q4_K_M against Q4_K_M, on held-out text: `qbench mix` on a
 * calibration text, then a normal `qbench run` of a plan with the source (baseline), Q4_K_M and
 * the mix on a perplexity suite of a different text, exact KLD. Prints both variants' sizes,
 * mean KLD with the run's intervals, p99, same-top and ppl ratio side by side, and the
 * sensitivity cost, then the paired difference mix − Q4_K_M of the per-token KLDs the run
 * stored (mean ± 1.96 standard errors: below zero, the mix wins on these tokens). Whatever the
 * figures say is the result: nothing here is tuned to a winner.
 *
 *   node dist/bench/mix-vs-stock.js --model demo   [--by tensor] [--chunks N]
 *   node dist/bench/mix-vs-stock.js --model real-shape [--by layer] [--chunks 2]
 *   … --reuse: score the mix an earlier run left in /tmp/qbench-bench/mix-vs-stock-<model> again
 *
 * demo: models/demo, calibration = the stories of suites/data/demo-stories.jsonl, held out =
 * suites/data/demo-heldout.txt (ctx 128). real-shape: test/support/real-shape.ts's model (Llama
 * 3's tokenizer, random weights), calibration = test/fixtures/ppl/stories.txt, held out =
 * suites/data/heldout-stories.txt (ctx 128).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGML_TYPES } from "../lib/gguf/ggml-types.js";
import { readGguf } from "../lib/gguf/reader.js";
import { parseTensorTypeName } from "../src/cli/sensitivity.js";
import { effectiveType, quantizableTensors } from "../src/sensitivity/groups.js";
import { openForReading } from "../src/store/open-read.js";
import { readRunFacts } from "../src/store/read-facts.js";
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
// --reuse: the mix of an earlier run of this bench (its file and its table in q.db) is scored
// again instead of searched again (the search is the slow part: groups × types passes).
const reuse =
  process.argv.includes("--reuse") && existsSync(mixPath) && existsSync(join(work, "q.db"));
const mixFromStore = () => {
  const sens = openForReading(join(work, "q.db"));
  const row = sens
    .prepare(
      "SELECT r.id, r.seconds, (SELECT COUNT(*) FROM sensitivity_groups g WHERE g.sensitivity_id = r.id AND g.reused = 0) AS passes FROM sensitivity_runs r WHERE r.command = 'mix' ORDER BY r.id DESC LIMIT 1",
    )
    .get() as { id: number; seconds: number; passes: number };
  sens.close();
  return row;
};
const mix: { id: number; seconds: number; passes: number } = reuse
  ? mixFromStore()
  : lastJson(
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
const mixTypes: Record<string, number> = {};
for (const t of (await readGguf(mixPath)).tensors) {
  const name = GGML_TYPES.get(t.type)?.name ?? String(t.type);
  mixTypes[name] = (mixTypes[name] ?? 0) + 1;
}
console.log(
  `${which}: mix by ${by}${chunks ? `, ${chunks} calibration chunks` : ""}: ${mix.passes} passes + 1, ${mix.seconds.toFixed(0)} s${reuse ? " (reused)" : ""}; the mix's tensors by type ${JSON.stringify(mixTypes)}`,
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

// Paired: the same held-out tokens, both variants' KLD against the source.
const db = openForReading(join(work, "run.db"));
const facts = readRunFacts(db, run.runId as number);
db.close();
const tokenKld = (name: string) => {
  const v = facts.variants.find((x) => x.name === name);
  const t = v?.perplexity.get("heldout");
  if (!t) throw new Error(`no per-token facts for ${name}`);
  return t.items;
};
const a = tokenKld("mix");
const b = tokenKld("q4_k_m");
let n = 0;
let sum = 0;
let squares = 0;
for (const [item, x] of a) {
  const y = b.get(item);
  if (!x.kld || !y?.kld || x.kld.length !== y.kld.length) throw new Error(`item ${item} unpaired`);
  for (const [i, k] of x.kld.entries()) {
    const d = k - (y.kld[i] as number);
    n++;
    sum += d;
    squares += d * d;
  }
}
const mean = sum / n;
const se = Math.sqrt((squares / n - mean * mean) / (n - 1));
console.log(
  `paired mix − q4_k_m, per-token KLD over ${n} held-out tokens: ${mean.toExponential(3)} (95 % CI ${(mean - 1.96 * se).toExponential(2)} … ${(mean + 1.96 * se).toExponential(2)}): ${mean + 1.96 * se < 0 ? "the mix has lower KLD" : mean - 1.96 * se > 0 ? "Q4_K_M has lower KLD" : "no clear difference"}`,
);

// The additive estimate of both files from the mix's own table (Σ over tensors of the KLD the
// table holds for that tensor's real type): where the mix's estimate is the lower one but its
// measured KLD is not, additivity or the calibration text's fit to the held-out text failed.
if (by === "tensor") {
  const sens = openForReading(join(work, "q.db"));
  const table = sens
    .prepare(
      "SELECT type, group_name AS name, mean_kld AS kld FROM sensitivity_groups WHERE sensitivity_id = ?",
    )
    .all(mix.id) as { type: string; name: string; kld: number }[];
  sens.close();
  const source = quantizableTensors(await readGguf(model));
  const estimate = async (path: string) => {
    const file = await readGguf(path);
    let sum = 0;
    for (const t of source) {
      const real = file.tensors.find((x) => x.name === t.name)?.type;
      const row = table.find(
        (r) => r.name === t.name && effectiveType(t, parseTensorTypeName("type", r.type)) === real,
      );
      if (!row)
        return `no row of the table gives ${t.name} its ${GGML_TYPES.get(real ?? -1)?.name}`;
      sum += row.kld;
    }
    return sum.toExponential(3);
  };
  const cached = readdirSync(join(work, "cache"), { recursive: true })
    .map(String)
    .find((f) => f.endsWith("q4_k_m.gguf"));
  console.log(
    `additive estimate from the calibration table (Σ of each tensor's KLD at its real type): mix ${await estimate(mixPath)}, q4_k_m ${cached ? await estimate(join(work, "cache", cached)) : "?"}`,
  );
}
