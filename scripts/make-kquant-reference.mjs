#!/usr/bin/env node
// Regenerates test/fixtures/quantize/kquant-reference.json: per-tensor sha256 of what the real
// llama-quantize writes for every k-quant / IQ4 format and mix qbench supports, with and without
// --pure, with and without an imatrix, on the synthetic probe model (written here with qbench's
// writer, test/fixtures/quantize/kquant-model.ts) and on the shared stories260K (rows of 64 / 172:
// the fall-backs). The imatrix is made by llama-imatrix on test/fixtures/quantize/imatrix-text.txt.
// A developer tool: CI never runs it (no llama.cpp build there); the tests read the JSON.
//
// Needs: `npx tsc -p tsconfig.json` first, and llama-quantize + llama-imatrix built from the
// llama.cpp that node-llama-cpp bundles.
// Usage: node scripts/make-kquant-reference.mjs [llama.cpp build/bin] [models dir]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = process.argv[2] ?? "/tmp/llama-src/build/bin";
const models = process.argv[3] ?? resolve(root, "../shared/models");
const fixtures = join(root, "test/fixtures/quantize");
const { writeKquantModel } = await import(
  join(root, "dist/test/fixtures/quantize/kquant-model.js")
);
const { readGguf } = await import(join(root, "dist/lib/gguf/reader.js"));

const work = mkdtempSync(join(tmpdir(), "kquant-ref-"));
const sha256 = (b) => createHash("sha256").update(b).digest("hex");
const run = (cmd, args) => {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 1 << 28,
    });
  } catch (error) {
    process.stderr.write(String(error.stderr ?? error));
    throw error;
  }
};

/** Per-tensor type and sha256 of a GGUF file, plus header and file hashes. */
async function hashGguf(path) {
  const raw = readFileSync(path);
  const file = await readGguf(path);
  const tensors = {};
  for (const t of file.tensors) {
    const start = file.dataOffset + t.offset;
    tensors[t.name] = { type: t.typeName, sha256: sha256(raw.subarray(start, start + t.byteSize)) };
  }
  return {
    fileSha256: sha256(raw),
    headerSha256: sha256(raw.subarray(0, file.dataOffset)),
    tensors,
  };
}

/** Per-tensor sha256 of llama-quantize --allow-requantize <file> F32: ggml's dequantizers' output. */
async function dequantized(path) {
  const deq = join(work, "deq.gguf");
  rmSync(deq, { force: true });
  run(join(bin, "llama-quantize"), ["--allow-requantize", path, deq, "F32", "1"]);
  const { tensors } = await hashGguf(deq);
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.sha256]));
}

const probe = join(work, "kquant-probe-f32.gguf");
await writeKquantModel(probe);
const inputs = {
  "kquant-probe-f32.gguf": probe,
  "stories260K-f32.gguf": join(models, "stories260K-f32.gguf"),
};

// One imatrix per input, from the committed text (llama-imatrix's GGUF format and its legacy .dat).
const text = join(fixtures, "imatrix-text.txt");
const imatrices = {};
for (const [name, path] of Object.entries(inputs)) {
  const base = name.replace(/-f32\.gguf$/, "");
  const gguf = join(work, `${base}.imatrix.gguf`);
  run(join(bin, "llama-imatrix"), [
    "-m",
    path,
    "-f",
    text,
    "-o",
    gguf,
    "-c",
    "64",
    "-b",
    "64",
    "--chunks",
    "8",
    "-t",
    "2",
    "--no-ppl",
  ]);
  const dat = join(work, `${base}.imatrix.dat`);
  run(join(bin, "llama-imatrix"), [
    "-m",
    path,
    "-f",
    text,
    "-o",
    dat,
    "-c",
    "64",
    "-b",
    "64",
    "--chunks",
    "8",
    "-t",
    "2",
    "--no-ppl",
    "--output-format",
    "dat",
  ]);
  writeFileSync(join(fixtures, `${base}.imatrix.gguf`), readFileSync(gguf));
  writeFileSync(join(fixtures, `${base}.imatrix.dat`), readFileSync(dat));
  imatrices[name] = { gguf: `${base}.imatrix.gguf`, dat: `${base}.imatrix.dat` };
}

const formats = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS", "Q8_0", "Q4_0"];
const mixes = [
  "Q2_K",
  "Q3_K_S",
  "Q3_K_M",
  "Q3_K_L",
  "Q4_K_S",
  "Q4_K_M",
  "Q5_K_S",
  "Q5_K_M",
  "Q6_K",
  "IQ4_NL",
  "IQ4_XS",
  "Q8_0",
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
];
const runs = [];
for (const [input, path] of Object.entries(inputs)) {
  const jobs = [
    ...formats.map((type) => ({ type, pure: true, imatrix: undefined })),
    ...mixes.map((type) => ({ type, pure: false, imatrix: undefined })),
    ...[
      "Q2_K",
      "Q3_K_M",
      "Q4_K_M",
      "Q5_K_M",
      "Q6_K",
      "IQ4_NL",
      "IQ4_XS",
      "Q4_0",
      "Q4_1",
      "Q5_0",
      "Q5_1",
    ].map((type) => ({
      type,
      pure: false,
      imatrix: "gguf",
    })),
    ...["Q4_K_M", "IQ4_XS"].map((type) => ({ type, pure: true, imatrix: "dat" })),
    { type: "Q4_K_M", pure: false, imatrix: undefined, tensorType: "attn_v=q8_0" },
    // The options for output.weight and token_embd, and Q2_K_S (which needs an imatrix).
    {
      type: "Q4_K_M",
      pure: false,
      options: ["--output-tensor-type", "q5_1", "--token-embedding-type", "q8_0"],
    },
    {
      type: "Q6_K",
      pure: true,
      options: ["--output-tensor-type", "f16", "--token-embedding-type", "q4_0"],
    },
    { type: "Q4_K_M", pure: false, options: ["--leave-output-tensor"] },
    { type: "F16", pure: false, options: ["--output-tensor-type", "q8_0"] },
    { type: "Q2_K_S", pure: false, imatrix: "gguf" },
    // Rows of 256 only: these types have no fall-back under the two options.
    ...(input === "kquant-probe-f32.gguf"
      ? [
          {
            type: "Q3_K_M",
            pure: false,
            options: ["--output-tensor-type", "q4_k", "--token-embedding-type", "iq4_xs"],
          },
        ]
      : []),
  ];
  for (const job of jobs) {
    const out = join(work, "out.gguf");
    rmSync(out, { force: true });
    const args = [];
    if (job.pure) args.push("--pure");
    if (job.imatrix) args.push("--imatrix", join(fixtures, imatrices[input][job.imatrix]));
    if (job.tensorType) args.push("--tensor-type", job.tensorType);
    if (job.options) args.push(...job.options);
    const started = performance.now();
    run(join(bin, "llama-quantize"), [...args, path, out, job.type, "1"]);
    const seconds = (performance.now() - started) / 1000;
    runs.push({
      input,
      inputSha256: sha256(readFileSync(path)),
      type: job.type,
      pure: job.pure,
      imatrix: job.imatrix ? imatrices[input][job.imatrix] : null,
      tensorType: job.tensorType ?? null,
      options: job.options ?? null,
      seconds: Number(seconds.toFixed(3)),
      output: await hashGguf(out),
      // The --pure outputs dequantized by llama.cpp itself (--allow-requantize to F32: dequantize_row_*).
      dequantized: job.pure && !job.imatrix ? await dequantized(out) : null,
    });
    process.stderr.write(
      `${input} ${job.type}${job.pure ? " --pure" : ""}${job.imatrix ? ` --imatrix ${job.imatrix}` : ""}${job.tensorType ? ` --tensor-type ${job.tensorType}` : ""}${job.options ? ` ${job.options.join(" ")}` : ""}: ${seconds.toFixed(2)} s\n`,
    );
  }
}
let help = "";
try {
  execFileSync(join(bin, "llama-quantize"), ["--help"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
} catch (error) {
  help = `${error.stdout ?? ""}${error.stderr ?? ""}`; // --help exits 1
}
const version = help.match(/version: [^\n]*/)?.[0] ?? "version unknown";
writeFileSync(
  join(fixtures, "kquant-reference.json"),
  `${JSON.stringify({ note: `Made by scripts/make-kquant-reference.mjs with llama-quantize (${version}, 1 thread) from the llama.cpp that node-llama-cpp bundles; CI never runs that script.`, runs }, null, 1)}\n`,
);
rmSync(work, { recursive: true, force: true });
process.stderr.write(`wrote ${join(fixtures, "kquant-reference.json")}: ${runs.length} runs\n`);
