#!/usr/bin/env node
/**
 * MAINTAINERS ONLY (CI never runs it): regenerates test/fixtures/ppl/kld-real-shape.json, what
 * `llama-perplexity --kl-divergence` prints for the real-shape test model — Llama 3's
 * 128,256-token tokenizer on random weights (2 layers, embedding 256), written by qbench's GGUF
 * writer from a fixed seed, so the model is the same wherever it is rebuilt — quantized by qbench
 * (bit-exact with llama-quantize) to Q8_0 and Q4_0, against its F16 file, ctx 128, 1 thread.
 *
 *   npx tsc -p tsconfig.json && node scripts/make-kld-real-shape.mjs --tools /tmp/llama-src/build/bin
 *
 * --tools: llama-perplexity built from node-llama-cpp's bundled llama.cpp (docs/performance.md);
 * --vocab: the vocab-only GGUF (default /tmp/llama-src/models/ggml-vocab-llama-bpe.gguf).
 *
 * llama.cpp's CPU kernels (and so its figures) differ between AVX-512 and AVX2 machines
 * (test/support/cpu-reference.ts). The output records llama-perplexity's `system_info`, and lands
 * as kld-real-shape.json only when that file is missing or records this machine's kind (or
 * QBENCH_REFERENCE_BASE=1); otherwise as kld-real-shape.<kind>.json beside it (e.g. .avx2.json),
 * which the test reads on a CPU of that kind. The committed kld-real-shape.json was made on AVX-512.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { referenceTarget } from "../dist/test/support/cpu-reference.js";
import { REAL_SHAPE, writeRealShape } from "../dist/test/support/real-shape.js";

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const root = fileURLToPath(new URL("../", import.meta.url));
const tools = arg("--tools", "/tmp/llama-src/build/bin");
const vocab = arg("--vocab", "/tmp/llama-src/models/ggml-vocab-llama-bpe.gguf");
const text = join(root, "test/fixtures/ppl/real-shape.txt");
const work = mkdtempSync(join(tmpdir(), "kld-real-shape-"));
const run = (command, args) =>
  execFileSync(command, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });

/** The figures llama-perplexity's KLD pass prints, by its own labels. */
function parse(output) {
  const number = (re) => {
    const m = output.match(re);
    if (!m) throw new Error(`no ${re} in llama-perplexity's output:\n${output.slice(-3000)}`);
    return Number(m[1]);
  };
  const kld = (label) => number(new RegExp(`${label}\\s+KLD:\\s+(-?[0-9.]+)`));
  return {
    ppl_q: number(/Mean PPL\(Q\)\s+:\s+([0-9.]+)/),
    ppl_base: number(/Mean PPL\(base\)\s+:\s+([0-9.]+)/),
    kld: {
      mean: kld("Mean   "),
      max: kld("Maximum"),
      p99_9: kld("99\\.9%  "),
      p99: kld("99\\.0%  "),
      p95: kld("95\\.0%  "),
      p90: kld("90\\.0%  "),
      median: kld("Median "),
      p10: kld("10\\.0%  "),
      p5: kld(" 5\\.0%  "),
      p1: kld(" 1\\.0%  "),
      p0_1: kld(" 0\\.1%  "),
      min: kld("Minimum"),
    },
    same_top_p_percent: number(/Same top p:\s+([0-9.]+)/),
  };
}

try {
  const f16 = join(work, "real-shape-f16.gguf");
  await writeRealShape(f16, vocab);
  const common = [
    "-f",
    text,
    "-c",
    "128",
    "-b",
    "128",
    "-t",
    "1",
    "-dev",
    "none",
    "--seed",
    "42",
    "-fa",
    "on",
  ];
  const base = join(work, "base.kld");
  const baseRun = spawnSync(
    join(tools, "llama-perplexity"),
    ["-m", f16, "--kl-divergence-base", base, ...common],
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
  if (baseRun.status !== 0)
    throw new Error(`llama-perplexity (base): ${baseRun.stderr.slice(-3000)}`);
  const systemInfo = `${baseRun.stdout}${baseRun.stderr}`.match(/system_info: (.*)/)?.[1]?.trim();
  if (!systemInfo) throw new Error("no system_info line in llama-perplexity's output");
  const results = [];
  for (const type of ["f16", "q8_0", "q4_0"]) {
    const file = type === "f16" ? f16 : join(work, `real-shape-${type}.gguf`);
    if (type !== "f16") {
      run(process.execPath, [
        join(root, "bin/qbench.js"),
        "quantize",
        f16,
        "--type",
        type,
        "--out",
        file,
      ]);
    }
    // llama.cpp's logger may drop its last lines at exit: run again until the summary is there.
    let output = "";
    for (let attempt = 0; attempt < 5 && !output.includes("Same top p"); attempt++) {
      output = run(join(tools, "llama-perplexity"), [
        "-m",
        file,
        "--kl-divergence-base",
        base,
        "--kl-divergence",
        ...common,
      ]);
    }
    results.push({ type, ...parse(output) });
  }
  const fixture = {
    made_by: "scripts/make-kld-real-shape.mjs",
    llama_perplexity: spawnSync(join(tools, "llama-perplexity"), ["--version"], {
      encoding: "utf8",
    }).stderr.trim(),
    system_info: systemInfo,
    model: REAL_SHAPE,
    text: "test/fixtures/ppl/real-shape.txt",
    command: `llama-perplexity -m MODEL --kl-divergence-base BASE --kl-divergence ${common.slice(2).join(" ")}`,
    notes:
      "Figures as llama-perplexity prints them (6 decimals). The f16 row is the base against itself: " +
      "the floor its 16-bit storage of the base log-probs sets.",
    results,
  };
  const target = referenceTarget(join(root, "test/fixtures/ppl"), "kld-real-shape.json");
  writeFileSync(target, `${JSON.stringify(fixture, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\nwrote ${target}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
