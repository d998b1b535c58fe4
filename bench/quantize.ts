// Speed of `qbench quantize` against llama-quantize on the same inputs, side by side: both run as
// the CLI a user would call (process start included), on the largest shared model and on a
// synthetic Llama-shaped F32 GGUF of about --size-mb written by qbench's own writer, so the
// figures mean something. Also checks that the two outputs are byte-identical.
// Run: npx tsc -p tsconfig.json && node dist/bench/quantize.js [--size-mb 300] [--types q4_k_m,q6_k,q8_0]
//        [--threads 1,2] (each count for both tools) [--repeats 3] (both tools with --pure: one format per run; --mix for llama-quantize's default mix) [--llama-quantize /opt/llama.cpp-ref/build/bin/llama-quantize] [--keep]
// Also: node dist/bench/quantize.js --make-model <out.gguf> [--preset tiny|bench] [--type f32|f16|bf16]
// (make-reference.sh uses that to make the synthetic input of test/gguf/quantize.test.ts).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type GgufValue, readGguf } from "../lib/gguf/reader.js";
import { BF16, F16 } from "../src/gguf/quantize/float-formats.js";
import { ggufValue as v, writeGguf } from "../src/gguf/writer.js";

export interface LlamaShape {
  layers: number;
  dim: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  vocab: number;
}

/** Small enough for a test (12 layers so blk.10 sorts after blk.9; ffn 100 forces the F16 fall-back). */
export const TINY: LlamaShape = { layers: 12, dim: 64, ffn: 100, heads: 4, kvHeads: 2, vocab: 64 };
/** Per-layer and embedding sizes of a small real model (TinyLlama-like widths). */
const BENCH_BASE: Omit<LlamaShape, "layers"> = {
  dim: 1024,
  ffn: 2816,
  heads: 16,
  kvHeads: 4,
  vocab: 8192,
};

const TYPE_IDS = { f32: 0, f16: 1, bf16: 30 } as const;
export type SourceType = keyof typeof TYPE_IDS;

/** xorshift32, so a seed always gives the same file. */
export function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function tensorShapes(s: LlamaShape): [string, number[]][] {
  const kv = (s.dim / s.heads) * s.kvHeads;
  const shapes: [string, number[]][] = [
    ["token_embd.weight", [s.dim, s.vocab]],
    ["output_norm.weight", [s.dim]],
    ["output.weight", [s.dim, s.vocab]],
  ];
  for (let i = 0; i < s.layers; i++) {
    const b = `blk.${i}`;
    shapes.push(
      [`${b}.attn_norm.weight`, [s.dim]],
      [`${b}.attn_q.weight`, [s.dim, s.dim]],
      [`${b}.attn_k.weight`, [s.dim, kv]],
      [`${b}.attn_v.weight`, [s.dim, kv]],
      [`${b}.attn_output.weight`, [s.dim, s.dim]],
      [`${b}.ffn_norm.weight`, [s.dim]],
      [`${b}.ffn_gate.weight`, [s.dim, s.ffn]],
      [`${b}.ffn_down.weight`, [s.ffn, s.dim]],
      [`${b}.ffn_up.weight`, [s.dim, s.ffn]],
    );
  }
  return shapes;
}

/** A sum of four uniforms less 2: mean 0, spread ≈ 0.58, roughly normal. */
export function roughlyNormal(next: () => number): number {
  return next() + next() + next() + next() - 2;
}

/** Weight-like values (a sum of four uniforms, so roughly normal) in chunks of whole rows. */
async function* weights(
  dims: number[],
  type: SourceType,
  next: () => number,
  norm: boolean,
): AsyncGenerator<Uint8Array> {
  const elements = dims.reduce((a, b) => a * b, 1);
  const rowLength = dims[0] ?? 1;
  const chunk = Math.max(rowLength, Math.floor((1 << 20) / rowLength) * rowLength);
  for (let done = 0; done < elements; done += chunk) {
    const x = new Float32Array(Math.min(chunk, elements - done));
    for (let i = 0; i < x.length; i++) {
      const r = roughlyNormal(next);
      x[i] = norm ? 1 + 0.1 * r : 0.04 * r;
    }
    if (type === "f32" || norm) yield new Uint8Array(x.buffer);
    else {
      const out = new Uint8Array(2 * x.length);
      (type === "f16" ? F16 : BF16).quantizeRow(x, out);
      yield out;
    }
  }
}

/** A Llama-architecture GGUF with random weights (norms F32, matrices `type`), deterministic in `seed`. */
/** A GGUF's `tokenizer.*` metadata and its vocabulary size: a real tokenizer for a synthetic model. */
export async function readTokenizer(
  path: string,
): Promise<{ metadata: Map<string, GgufValue>; size: number }> {
  const file = await readGguf(path);
  const metadata = new Map([...file.metadata].filter(([key]) => key.startsWith("tokenizer.")));
  const tokens = metadata.get("tokenizer.ggml.tokens");
  const size = tokens && "items" in tokens ? (tokens.items as unknown[]).length : 0;
  if (size === 0) throw new Error(`no tokenizer.ggml.tokens in ${path}`);
  return { metadata, size };
}

/**
 * A Llama-layout model with grouped-query attention (4 layers, embedding 256, 4 heads / 2 KV
 * heads, head size 64) and Llama 2's 32,000-token tokenizer from `tokenizerGguf`.
 */
export async function writeGqaLlama(path: string, tokenizerGguf: string): Promise<void> {
  const { metadata, size } = await readTokenizer(tokenizerGguf);
  const shape = { layers: 4, dim: 256, ffn: 512, heads: 4, kvHeads: 2, vocab: size };
  await writeSyntheticLlama(path, shape, "f16", 7, metadata);
}

export async function writeSyntheticLlama(
  path: string,
  shape: LlamaShape,
  type: SourceType = "f32",
  seed = 1234,
  /** tokenizer.* metadata of a real model to use instead of the placeholder one (shape.vocab must match). */
  tokenizer?: Map<string, GgufValue>,
): Promise<void> {
  const next = random(seed);
  const tokens = Array.from({ length: shape.vocab }, (_, i) =>
    i < 3 ? (["<unk>", "<s>", "</s>"][i] ?? "") : `tok${i}`,
  );
  const fileType = { f32: 0, f16: 1, bf16: 32 }[type];
  await writeGguf(path, {
    metadata: {
      "general.architecture": v.string("llama"),
      "general.name": v.string(`synthetic-llama-${shape.layers}x${shape.dim}`),
      "general.file_type": v.uint32(fileType),
      "llama.context_length": v.uint32(2048),
      "llama.embedding_length": v.uint32(shape.dim),
      "llama.block_count": v.uint32(shape.layers),
      "llama.feed_forward_length": v.uint32(shape.ffn),
      "llama.rope.dimension_count": v.uint32(shape.dim / shape.heads),
      "llama.attention.head_count": v.uint32(shape.heads),
      "llama.attention.head_count_kv": v.uint32(shape.kvHeads),
      "llama.attention.layer_norm_rms_epsilon": v.float32(1e-5),
      "tokenizer.ggml.model": v.string("llama"),
      "tokenizer.ggml.tokens": v.array("string", tokens),
      "tokenizer.ggml.scores": v.array("float32", new Float32Array(shape.vocab)),
      "tokenizer.ggml.token_type": v.array(
        "int32",
        Int32Array.from(tokens, (_, i) => (i < 3 ? 3 : 1)),
      ),
      "tokenizer.ggml.bos_token_id": v.uint32(1),
      "tokenizer.ggml.eos_token_id": v.uint32(2),
      ...Object.fromEntries(tokenizer ?? []),
    },
    tensors: tensorShapes(shape).map(([name, dims]) => {
      const norm = dims.length === 1;
      return {
        name,
        dims,
        type: norm ? 0 : TYPE_IDS[type],
        data: weights(dims, type, next, norm),
      };
    }),
  });
}

/** Layers that bring a BENCH_BASE-shaped F32 file closest to `mb` megabytes (at least one). */
function benchShape(mb: number): LlamaShape {
  const s = { ...BENCH_BASE, layers: 0 };
  const kv = (s.dim / s.heads) * s.kvHeads;
  const perLayer = 4 * (2 * s.dim * s.dim + 2 * s.dim * kv + 3 * s.dim * s.ffn + 2 * s.dim);
  const fixed = 4 * (2 * s.dim * s.vocab + s.dim);
  return { ...s, layers: Math.max(1, Math.round((mb * 1e6 - fixed) / perLayer)) };
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

/**
 * CPU seconds (user + system) of this process's waited-for children, from /proc/self/stat's
 * cutime and cstime (clock ticks, 100 a second on Linux); null where there is no /proc.
 */
function childCpuSeconds(): number | null {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 and 17 of proc(5), counted from the state (field 3) here.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/** Wall seconds, and CPU seconds of the process (null without /proc). */
function timed(command: string, args: string[]): { wall: number; cpu: number | null } {
  const cpuBefore = childCpuSeconds();
  const start = performance.now();
  try {
    execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"], maxBuffer: 64 << 20 });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
    throw new Error(`${command} ${args.join(" ")} failed:\n${stderr}`);
  }
  const wall = (performance.now() - start) / 1000;
  const cpuAfter = childCpuSeconds();
  return { wall, cpu: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore };
}

interface Timing {
  /** Fastest of the repeats. */
  seconds: number;
  /** Median of the repeats. */
  median: number;
  /** Least CPU seconds of the repeats (user + system), null without /proc. */
  cpu: number | null;
}

interface Row {
  input: string;
  type: string;
  /** Worker threads of qbench and llama-quantize's nthreads alike. */
  threads: number;
  mb: number;
  qbench: Timing;
  llama: Timing | null;
  identical: boolean | null;
}

function summarize(times: { wall: number; cpu: number | null }[]): Timing {
  const sorted = times.map((t) => t.wall).sort((a, b) => a - b);
  const cpus = times.map((t) => t.cpu);
  return {
    seconds: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    cpu: cpus.every((c) => c !== null) ? Math.min(...cpus) : null,
  };
}

async function bench(options: {
  sizeMb: number;
  types: string[];
  threads: number[];
  repeats: number;
  llamaQuantize: string;
  keep: boolean;
  mix: boolean;
}): Promise<void> {
  const qbenchBin = fileURLToPath(new URL("../../bin/qbench.js", import.meta.url));
  const models = fileURLToPath(new URL("../../../shared/models/", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "qbench-bench-quantize-"));
  const haveLlama = existsSync(options.llamaQuantize);
  const loadBefore = loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  try {
    const inputs: string[] = [];
    const stories = join(models, "stories260K-f32.gguf");
    if (existsSync(stories)) inputs.push(stories);
    const synthetic = join(dir, "synthetic-llama-f32.gguf");
    const shape = benchShape(options.sizeMb);
    const made = performance.now();
    await writeSyntheticLlama(synthetic, shape);
    process.stderr.write(
      `made ${synthetic}: ${shape.layers} layers × dim ${shape.dim}, ffn ${shape.ffn}, vocab ${shape.vocab}, ${(statSync(synthetic).size / 1e6).toFixed(0)} MB in ${((performance.now() - made) / 1000).toFixed(1)} s\n`,
    );
    inputs.push(synthetic);
    if (!haveLlama) {
      process.stderr.write(
        `no llama-quantize at ${options.llamaQuantize}: qbench figures only (pass --llama-quantize)\n`,
      );
    }
    const rows: Row[] = [];
    for (const input of inputs) {
      const file = await readGguf(input);
      const mb = file.fileSize / 1e6;
      await sha256(input); // warm the page cache so neither tool pays for the first read
      for (const type of options.types) {
        for (const threads of options.threads) {
          const ours = join(dir, `qbench-${type}.gguf`);
          const theirs = join(dir, `llama-${type}.gguf`);
          const pure = options.mix ? [] : ["--pure"];
          const ourArgs = [qbenchBin, "quantize", input, "--type", type, "--out", ours, ...pure];
          ourArgs.push("--threads", String(threads));
          // llama-quantize's last positional argument is nthreads (its default: every core).
          const llamaArgs = [...pure, input, theirs, type.toUpperCase(), String(threads)];
          const oursTimes: { wall: number; cpu: number | null }[] = [];
          const theirTimes: { wall: number; cpu: number | null }[] = [];
          // Alternate the tools so a change in the machine's load falls on both.
          for (let r = 0; r < options.repeats; r++) {
            oursTimes.push(timed(process.execPath, ourArgs));
            if (haveLlama) theirTimes.push(timed(options.llamaQuantize, llamaArgs));
          }
          const identical = haveLlama ? (await sha256(ours)) === (await sha256(theirs)) : null;
          rows.push({
            input,
            type,
            threads,
            mb,
            qbench: summarize(oursTimes),
            llama: haveLlama ? summarize(theirTimes) : null,
            identical,
          });
          rmSync(ours, { force: true });
          rmSync(theirs, { force: true });
        }
      }
    }
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
    console.log(
      `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}; load average before ${loadBefore}, after ${load}; node ${process.version}; ${options.repeats} repeats${options.mix ? "" : ", --pure"}`,
    );
    printTable(rows);
  } finally {
    if (options.keep) process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(rows: Row[]): void {
  const header = [
    "input",
    "type",
    "threads",
    "MB",
    "qbench MB/s",
    "llama-quantize MB/s",
    "qbench ÷ llama-quantize",
    "CPU s qbench / llama-quantize",
    "identical",
  ];
  const speed = (mb: number, t: Timing) =>
    `${(mb / t.seconds).toFixed(1)} / ${(mb / t.median).toFixed(1)}`;
  const lines = rows.map((r) => [
    r.input.split("/").pop() ?? r.input,
    r.type,
    String(r.threads),
    r.mb.toFixed(1),
    speed(r.mb, r.qbench),
    r.llama ? speed(r.mb, r.llama) : "-",
    r.llama
      ? `${(r.llama.seconds / r.qbench.seconds).toFixed(2)}× / ${(r.llama.median / r.qbench.median).toFixed(2)}×`
      : "-",
    r.qbench.cpu !== null && r.llama?.cpu != null
      ? `${r.qbench.cpu.toFixed(2)} / ${r.llama.cpu.toFixed(2)} (${(r.llama.cpu / r.qbench.cpu).toFixed(2)}×)`
      : "-",
    r.identical === null ? "-" : r.identical ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i < 8 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ");
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
  console.log(
    "MB/s: input file MB / wall seconds, fastest / median of the repeats, process start included; both tools at the same thread count (qbench --threads N, llama-quantize's nthreads N). Ratio above 1: qbench is faster. CPU s: least user + system seconds of the repeats (less sensitive to other jobs than wall time), and their ratio.",
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "size-mb": { type: "string", default: "300" },
      types: { type: "string", default: "q4_k_m,q5_k_m,q6_k,q8_0" },
      threads: { type: "string", default: "1,2" },
      repeats: { type: "string", default: "3" },
      mix: { type: "boolean", default: false },
      "llama-quantize": { type: "string", default: "/opt/llama.cpp-ref/build/bin/llama-quantize" },
      keep: { type: "boolean", default: false },
      "make-model": { type: "string" },
      preset: { type: "string", default: "tiny" },
      type: { type: "string", default: "f32" },
      seed: { type: "string", default: "1234" },
    },
  });
  if (values["make-model"]) {
    const shape = values.preset === "bench" ? benchShape(Number(values["size-mb"])) : TINY;
    const type = values.type as SourceType;
    if (!(type in TYPE_IDS)) throw new Error(`--type must be f32, f16 or bf16, not ${type}`);
    await writeSyntheticLlama(values["make-model"], shape, type, Number(values.seed));
    return;
  }
  await bench({
    sizeMb: Number(values["size-mb"]),
    types: values.types.split(",").map((t) => t.trim()),
    threads: values.threads.split(",").map((t) => {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--threads takes counts ≥ 1, not ${t}`);
      return n;
    }),
    repeats: Math.max(1, Number(values.repeats)),
    llamaQuantize: values["llama-quantize"],
    keep: values.keep,
    mix: values.mix,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
