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
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
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

/** Runs a command under /usr/bin/time: its output, wall seconds, user + system seconds. */
function timed(file: string, args: string[], env = process.env) {
  const started = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "cpu %U %S", file, ...args], {
    encoding: "utf8",
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const wall = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${file} failed: ${result.stderr.slice(-2000)}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr);
  return { result, wall, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}

function qbench(text: string): Run {
  const args = ["ppl", model, text, "--ctx", String(ctx), "--backend", "cpu"];
  const { result, wall, cpu } = timed(process.execPath, [
    join(root, "bin/qbench.js"),
    ...args,
    "--threads",
    String(threads),
  ]);
  const out = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
  return { wall, cpu, ppl: out.ppl as number, evalSeconds: out.eval_seconds };
}

function llamaPerplexity(text: string): Run {
  const exe = join(tools, "llama-perplexity");
  const args = ["-m", model, "-f", text, "-c", String(ctx), "-t", String(threads)];
  const { result, wall, cpu } = timed(exe, args, { ...process.env, LD_LIBRARY_PATH: tools });
  const m = /Final estimate: PPL = ([\d.]+)/.exec(result.stdout + result.stderr);
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
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
const minMedian = (xs: number[]) => {
  const s = sorted(xs);
  return [s[0] as number, s[Math.floor(s.length / 2)] as number] as const;
};
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
