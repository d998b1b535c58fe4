/**
 * Exact KLD, side by side: one `qbench ppl VARIANT TEXT --baseline BASE --kld exact` (one runner,
 * both models in lockstep) against llama-perplexity's pair, `--kl-divergence-base FILE` on the
 * baseline then `--kl-divergence` on the variant, interleaved repeat by repeat. Prints each side's
 * wall time and whole-process CPU (min / median), the ratios, the two figures (mean KLD, same top,
 * PPL ratio) and what each keeps on disk (llama.cpp's base logits file; qbench keeps nothing per
 * token in exact mode: the baseline is evaluated again beside the variant).
 *
 *   node dist/bench/kld-pair.js [--model Q8.gguf] [--baseline F16.gguf] [--text t.txt]
 *     [--ctx 512] [--threads 1] [--repeats 3] [--tools /tmp/lp-prebuilt]
 *
 * Default models: the 128k-vocabulary real-shape pair `node dist/bench/real-shape.js --model-only`
 * writes (Q8_0, and its F16 beside it). Default text: the first 40,000 characters of docs/*.md,
 * in name order (~10k Llama 3 tokens: 20 chunks of 512). `--tools`: llama-perplexity on node-llama-cpp's own prebuilt
 * libraries (`bash scripts/build-llama-perplexity-prebuilt.sh /tmp/lp-prebuilt`: the same engine
 * build, so the ratio is qbench's own cost), or a native build of the bundle (bench/real-shape.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, median, TIME, timed } from "./side-by-side.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const shapes = "/tmp/qbench-bench/real-shape";
const model = arg("--model", join(shapes, "real-shape-llama-bpe-q8_0.gguf"));
const baseline = arg("--baseline", model.replace(/-q8_0\.gguf$/, "-f16.gguf"));
const ctx = Number(arg("--ctx", "512"));
const threads = Number(arg("--threads", "1"));
const repeats = Number(arg("--repeats", "3"));
const tools = arg("--tools", "/tmp/lp-prebuilt");
const work = "/tmp/qbench-bench/kld-pair";

interface Run {
  wall: number;
  cpu: number;
  meanKld: number;
  sameTop: number;
  pplRatio: number;
}

/** The default text: the start of the repository's docs, concatenated (written under `work`). */
function defaultText(): string {
  const out = join(work, "docs.txt");
  const docs = join(root, "docs");
  const files = readdirSync(docs)
    .filter((f) => f.endsWith(".md"))
    .sort();
  const all = files.map((f) => readFileSync(join(docs, f), "utf8")).join("\n");
  writeFileSync(out, all.slice(0, 40_000));
  return out;
}

function qbench(text: string): Run {
  const args = [join(root, "bin/qbench.js"), "ppl", model, text, "--ctx", String(ctx)];
  const {
    stdout: out,
    wall,
    cpu,
  } = timed(process.execPath, [
    ...args,
    ...["--backend", "cpu", "--threads", String(threads), "--baseline", baseline, "--kld", "exact"],
  ]);
  const last = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
  return {
    wall,
    cpu,
    meanKld: last.mean_kld as number,
    sameTop: last.same_top_pct as number,
    pplRatio: last.ppl_ratio as number,
  };
}

const baseFile = join(work, "base.kld");

/** The pair: the baseline's logits file, then the variant against it; the figures from its log. */
function llamaPerplexity(text: string): Run {
  const exe = join(tools, "llama-perplexity");
  const common = `-f "${text}" -c ${ctx} -b ${ctx} -t ${threads} -dev none --kl-divergence-base "${baseFile}"`;
  const log = join(work, "kld.log");
  const command =
    `"${exe}" -m "${baseline}" ${common} > /dev/null 2>&1 && ` +
    `"${exe}" -m "${model}" ${common} --kl-divergence > "${log}" 2>&1`;
  const { wall, cpu } = timed("sh", ["-c", command]);
  const lines = readFileSync(log, "utf8");
  const figure = (pattern: RegExp) => Number(pattern.exec(lines)?.[1] ?? Number.NaN);
  return {
    wall,
    cpu,
    meanKld: figure(/Mean\s+KLD:\s+([-\d.e]+)/),
    sameTop: figure(/Same top p:\s+([-\d.e]+)/),
    pplRatio: figure(/Mean PPL\(Q\)\/PPL\(base\)\s*:\s+([-\d.e]+)/),
  };
}

function main(): void {
  mkdirSync(work, { recursive: true });
  for (const file of [model, baseline]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: node dist/bench/real-shape.js --model-only writes it`);
    }
  }
  const exe = join(tools, "llama-perplexity");
  if (!existsSync(exe)) {
    throw new Error(
      `no ${exe}: bash scripts/build-llama-perplexity-prebuilt.sh /tmp/lp-prebuilt, or --tools DIR`,
    );
  }
  if (!existsSync(TIME)) throw new Error(`${TIME} is needed for the CPU figures`);
  const text = process.argv.includes("--text") ? arg("--text", "") : defaultText();
  process.stderr.write(
    `variant ${model}, baseline ${baseline}, text ${text}, ctx ${ctx}, ${threads} thread(s), ${repeats} repeats\n`,
  );
  const ours: Run[] = [];
  const theirs: Run[] = [];
  for (let r = 0; r < repeats; r++) {
    // Interleaved, so that the machine's background load falls on both alike.
    theirs.push(llamaPerplexity(text));
    ours.push(qbench(text));
    process.stderr.write(
      `repeat ${r + 1}: qbench ${ours.at(-1)?.wall.toFixed(1)} s, llama-perplexity pair ${theirs.at(-1)?.wall.toFixed(1)} s\n`,
    );
  }
  const row = (name: string, list: Run[]) => {
    const wall = list.map((r) => r.wall);
    const cpu = list.map((r) => r.cpu);
    const first = list[0] as Run;
    process.stdout.write(
      `| ${name} | ${Math.min(...wall).toFixed(1)} / ${median(wall).toFixed(1)} | ${Math.min(...cpu).toFixed(1)} / ${median(cpu).toFixed(1)} | ${first.meanKld.toExponential(4)} | ${first.sameTop.toFixed(3)} | ${first.pplRatio.toFixed(6)} |\n`,
    );
  };
  process.stdout.write(
    "| | wall s (min / median) | CPU s (min / median) | mean KLD | same top % | PPL(Q)/PPL(base) |\n| --- | --- | --- | --- | --- | --- |\n",
  );
  row("qbench ppl --kld exact", ours);
  row("llama-perplexity --kl-divergence-base + --kl-divergence", theirs);
  const ratio = (pick: (r: Run) => number) => {
    const a = theirs.map(pick);
    const b = ours.map(pick);
    return `${(Math.min(...a) / Math.min(...b)).toFixed(2)} (min) / ${(median(a) / median(b)).toFixed(2)} (median)`;
  };
  process.stdout.write(
    `qbench speed / llama-perplexity's (goal ≥ 0.9): wall ${ratio((r) => r.wall)}, CPU ${ratio((r) => r.cpu)}\n`,
  );
  process.stdout.write(
    `stored per run: llama-perplexity's base file ${(statSync(baseFile).size / 1e6).toFixed(1)} MB; qbench none (exact mode evaluates the baseline in lockstep)\n`,
  );
}

main();
