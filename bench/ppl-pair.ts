/**
 * Plain perplexity, side by side: `qbench ppl MODEL TEXT` against `llama-perplexity -m MODEL -f
 * TEXT`, same context and threads, interleaved repeat by repeat. Prints each side's wall time and
 * whole-process CPU (min / median; start-up and model load included on both sides), qbench's own
 * scoring time, both perplexities and the ratio of speeds.
 *
 *   node dist/bench/ppl-pair.js [--model Q8.gguf] [--text t.txt] [--ctx 512] [--threads 1]
 *     [--repeats 3] [--tools /tmp/lp-prebuilt]
 *
 * Default model: the 128k-vocabulary real-shape Q8_0 file `node dist/bench/real-shape.js
 * --model-only` writes. Default text: test/fixtures/ppl/stories.txt sixteen times over (~30k Llama 3
 * tokens). `--tools`: llama-perplexity built on node-llama-cpp's own prebuilt libraries
 * (`bash scripts/build-llama-perplexity-prebuilt.sh /tmp/lp-prebuilt`), so the ratio is qbench's
 * own cost on the same engine build.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, median, timed } from "./side-by-side.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const model = arg("--model", "/tmp/qbench-bench/real-shape/real-shape-llama-bpe-q8_0.gguf");
const ctx = Number(arg("--ctx", "512"));
const threads = Number(arg("--threads", "1"));
const repeats = Number(arg("--repeats", "3"));
const tools = arg("--tools", "/tmp/lp-prebuilt");
const work = "/tmp/qbench-bench/ppl-pair";

interface Run {
  wall: number;
  cpu: number;
  ppl: number;
  /** qbench's scoring seconds (its `eval_seconds`); undefined for llama-perplexity. */
  evalSeconds?: number;
}

function defaultText(): string {
  mkdirSync(work, { recursive: true });
  const out = join(work, "stories16.txt");
  const stories = readFileSync(join(root, "test/fixtures/ppl/stories.txt"), "utf8");
  writeFileSync(out, Array.from({ length: 16 }, () => stories).join("\n"));
  return out;
}

function qbench(text: string): Run {
  const args = ["ppl", model, text, "--ctx", String(ctx), "--backend", "cpu"];
  const { stdout, wall, cpu } = timed(process.execPath, [
    join(root, "bin/qbench.js"),
    ...args,
    "--threads",
    String(threads),
  ]);
  const out = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
  return { wall, cpu, ppl: out.ppl as number, evalSeconds: out.eval_seconds };
}

function llamaPerplexity(text: string): Run {
  const exe = join(tools, "llama-perplexity");
  const args = ["-m", model, "-f", text, "-c", String(ctx), "-t", String(threads)];
  const { stdout, stderr, wall, cpu } = timed(exe, args, {
    ...process.env,
    LD_LIBRARY_PATH: tools,
  });
  const m = /Final estimate: PPL = ([\d.]+)/.exec(stdout + stderr);
  return { wall, cpu, ppl: m ? Number(m[1]) : Number.NaN };
}

if (!existsSync(model))
  throw new Error(`${model} is missing: run node dist/bench/real-shape.js --model-only`);
if (!existsSync(join(tools, "llama-perplexity"))) {
  throw new Error(
    `no llama-perplexity in ${tools}: bash scripts/build-llama-perplexity-prebuilt.sh ${tools}`,
  );
}
const text = arg("--text", "") || defaultText();
const ours: Run[] = [];
const theirs: Run[] = [];
for (let r = 0; r < repeats; r++) {
  ours.push(qbench(text));
  theirs.push(llamaPerplexity(text));
  const [a, b] = [ours.at(-1) as Run, theirs.at(-1) as Run];
  process.stderr.write(
    `repeat ${r + 1}: qbench ${a.wall.toFixed(1)} s, llama-perplexity ${b.wall.toFixed(1)} s\n`,
  );
}
const minMedian = (xs: number[]) => [Math.min(...xs), median(xs)] as const;
const fmt = ([a, b]: readonly [number, number]) => `${a.toFixed(1)} / ${b.toFixed(1)}`;
const [ow, tw] = [minMedian(ours.map((r) => r.wall)), minMedian(theirs.map((r) => r.wall))];
const [oc, tc] = [minMedian(ours.map((r) => r.cpu)), minMedian(theirs.map((r) => r.cpu))];
console.log(
  `${model.split("/").pop()}, ${text.split("/").pop()}, ctx ${ctx}, ${threads} thread(s), ${repeats} repeats`,
);
console.log("| | wall s (min / median) | CPU s (min / median) | scoring s (min / median) | PPL |");
console.log("| --- | --- | --- | --- | --- |");
const scoring = minMedian(ours.map((r) => r.evalSeconds ?? Number.NaN));
console.log(
  `| qbench ppl | ${fmt(ow)} | ${fmt(oc)} | ${fmt(scoring)} | ${ours[0]?.ppl.toFixed(4)} |`,
);
console.log(`| llama-perplexity | ${fmt(tw)} | ${fmt(tc)} | — | ${theirs[0]?.ppl.toFixed(4)} |`);
console.log(
  `qbench speed / llama-perplexity's (goal ≥ 0.9): wall ${(tw[0] / ow[0]).toFixed(2)} (min) / ${(tw[1] / ow[1]).toFixed(2)} (median), CPU ${(tc[0] / oc[0]).toFixed(2)} / ${(tc[1] / oc[1]).toFixed(2)}`,
);
