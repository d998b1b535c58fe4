#!/usr/bin/env node
/**
 * MAINTAINERS ONLY (CI never runs it): regenerates test/fixtures/quantize/kquant-ppl-reference.json,
 * what llama.cpp's own tools give on the k-quant perplexity model
 * (test/fixtures/quantize/ppl-model.ts: rows of 256 / 512, stories260K's tokenizer, random weights)
 * for each mix: the sha256 of `llama-quantize`'s file (1 thread), `llama-perplexity`'s figures on
 * it (ctx 128, 1 thread, -fa on, the mean NLL to 6 decimals from --ppl-output-type 1), and what
 * node-llama-cpp gives on that same file through `qbench ppl` (the runner the test uses).
 * test/cli/quantize-ppl.test.ts quantizes the model with qbench and checks all three.
 *
 *   npx tsc -p tsconfig.json && node scripts/make-kquant-ppl-reference.mjs [llama.cpp build/bin] [models dir]
 *
 * The tools: llama-quantize and llama-perplexity built from the llama.cpp node-llama-cpp bundles.
 *
 * llama.cpp's CPU kernels (and so its figures, and node-llama-cpp's) differ between AVX-512 and
 * AVX2 machines (test/support/cpu-reference.ts). The output records llama-perplexity's
 * `system_info`, and lands as kquant-ppl-reference.json only when that file is missing or records
 * this machine's kind (or QBENCH_REFERENCE_BASE=1); otherwise as kquant-ppl-reference.<kind>.json
 * beside it (e.g. .avx2.json), which the test reads on a CPU of that kind. The committed
 * kquant-ppl-reference.json was made on AVX-512 (its `engine` lists avx512f).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = process.argv[2] ?? "/tmp/llama-src/build/bin";
const models = process.argv[3] ?? resolve(root, "../shared/models");
const text = join(root, "test/fixtures/ppl/stories.txt");
const { PPL_MODEL, engineKey, writePplModel } = await import(
  join(root, "dist/test/fixtures/quantize/ppl-model.js")
);
const { referenceTarget } = await import(join(root, "dist/test/support/cpu-reference.js"));
const target = referenceTarget(join(root, "test/fixtures/quantize"), "kquant-ppl-reference.json");
/** llama-perplexity's system_info line (the CPU features its kernels were picked by). */
let systemInfo;

/** llama-quantize's names, as the test passes them to qbench quantize --type. */
const MIXES = ["q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k", "iq4_xs"];
const CTX = 128;
const PERPLEXITY_ARGS = ["-f", text, "-c", String(CTX), "-b", String(CTX), "-t", "1"];
const PERPLEXITY_FLAGS = ["-dev", "none", "--seed", "42", "-fa", "on", "--ppl-output-type", "1"];

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const run = (command, args) =>
  execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/**
 * llama-perplexity's final estimate and its last --ppl-output-type 1 row (running PPL, mean NLL,
 * its standard error). llama.cpp's logger is not drained at exit, so a run whose last lines are
 * missing is run again.
 */
function perplexity(model) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const out = spawnSync(join(bin, "llama-perplexity"), [
      "-m",
      model,
      ...PERPLEXITY_ARGS,
      ...PERPLEXITY_FLAGS,
    ]);
    const log = `${out.stdout}${out.stderr}`;
    systemInfo ??= log.match(/system_info: (.*)/)?.[1]?.trim();
    const final = log.match(/Final estimate: PPL = ([0-9.]+) \+\/- ([0-9.]+)/);
    const rows = [...log.matchAll(/^\s*(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s*$/gm)];
    const chunks = log.match(/calculating perplexity over (\d+) chunks/);
    const last = rows.at(-1);
    if (out.status === 0 && final && last && chunks && rows.length === Number(chunks[1])) {
      return {
        ppl: Number(final[1]),
        ppl_err: Number(final[2]),
        mean_nll: Number(last[3]),
        mean_nll_err: Number(last[4]),
        chunks: Number(chunks[1]),
      };
    }
  }
  throw new Error(`llama-perplexity on ${model}: no final estimate after 5 runs`);
}

/** qbench ppl (node-llama-cpp, CPU, 1 thread) on a file: its JSON line. */
function nodeLlamaCpp(model) {
  const out = run(process.execPath, [
    join(root, "bin/qbench.js"),
    "ppl",
    model,
    text,
    "--ctx",
    String(CTX),
    "--backend",
    "cpu",
    "--threads",
    "1",
  ]);
  const result = JSON.parse(out.trim().split("\n").at(-1));
  return { ppl: result.ppl, ppl_err: result.ppl_error, tokens: result.tokens };
}

const work = mkdtempSync(join(tmpdir(), "kquant-ppl-"));
try {
  const source = join(work, "ppl-model-f16.gguf");
  await writePplModel(source, join(models, "stories260K-f32.gguf"));
  const version = spawnSync(join(bin, "llama-perplexity"), ["--version"], { encoding: "utf8" });
  const row = (type, file) => ({
    type,
    sha256: sha256(file),
    bytes: readFileSync(file).length,
    llama_perplexity: perplexity(file),
    node_llama_cpp: nodeLlamaCpp(file),
  });
  const results = [row("f16", source)];
  for (const mix of MIXES) {
    const out = join(work, `ppl-model-${mix}.gguf`);
    run(join(bin, "llama-quantize"), [source, out, mix.toUpperCase(), "1"]);
    results.push(row(mix, out));
    process.stderr.write(`${mix}: ${JSON.stringify(results.at(-1))}\n`);
  }
  const reference = {
    made_by: "scripts/make-kquant-ppl-reference.mjs",
    llama_cpp: `${version.stdout}${version.stderr}`.trim(),
    // node-llama-cpp's figures are exact for the same bytes on the same engine and CPU.
    engine: engineKey(
      JSON.parse(readFileSync(join(root, "node_modules/node-llama-cpp/package.json"), "utf8"))
        .version,
    ),
    system_info: systemInfo,
    model: PPL_MODEL,
    tokenizer: "stories260K-f32.gguf",
    text: "test/fixtures/ppl/stories.txt",
    quantize: "llama-quantize ppl-model-f16.gguf OUT TYPE 1 (its default mix)",
    command: `llama-perplexity -m MODEL ${[...PERPLEXITY_ARGS, ...PERPLEXITY_FLAGS].join(" ").replace(text, "stories.txt")}`,
    node_llama_cpp: `qbench ppl MODEL stories.txt --ctx ${CTX} --backend cpu --threads 1`,
    notes:
      "sha256 and bytes: llama-quantize's whole output file (the f16 row: the source written by the test's writer). " +
      "llama_perplexity: the final estimate as printed (4 / 5 decimals) and the last --ppl-output-type 1 row " +
      "(mean NLL and its standard error, 6 decimals). node_llama_cpp: qbench ppl on llama-quantize's own file.",
    results,
  };
  writeFileSync(target, `${JSON.stringify(reference, null, 2)}\n`);
  process.stdout.write(`wrote ${target}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
