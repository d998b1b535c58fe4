/**
 * GGUF files the WebGPU tests make at test time: stories260K quantized by qbench's quantizer
 * (byte-identical with llama-quantize), and a random-weight Llama whose widths are multiples
 * of 256, so the k-quant and IQ4_XS mixes keep their own types instead of falling back.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTokenizer, writeSyntheticLlama } from "../../../bench/quantize.js";
import { quantizeTarget } from "../../../src/gguf/quantize/formats.js";
import { quantizeGguf } from "../../../src/gguf/quantize/quantize-file.js";
import { model } from "../../support/paths.js";

const DIR = join(tmpdir(), `qbench-webgpu-models-${process.pid}`);

/** A 2-layer, 256-wide Llama (4 heads of 64, 2 KV heads, FFN 512) with stories260K's tokenizer. */
export const WIDE_SHAPE = { layers: 2, dim: 256, ffn: 512, heads: 4, kvHeads: 2, vocab: 512 };

async function quantized(source: string, name: string, type: string): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const output = join(DIR, `${name}-${type}.gguf`);
  if (existsSync(output)) return output;
  const target = quantizeTarget(type);
  if (!target) throw new Error(`no quantize target ${type}`);
  await quantizeGguf({ input: source, output, target, threads: 1 });
  return output;
}

/** stories260K (F32) quantized to `type` as `qbench quantize --type` does (its default mix). */
export function storiesAs(type: string): Promise<string> {
  return quantized(model("stories260K-f32.gguf"), "stories260K", type);
}

/** The random-weight WIDE_SHAPE model (F16, seed 18), quantized to `type` unless "f16". */
export async function wideAs(type: string): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const f16 = join(DIR, "wide-f16.gguf");
  if (!existsSync(f16)) {
    const { metadata } = await readTokenizer(model("stories260K-f32.gguf"));
    await writeSyntheticLlama(f16, WIDE_SHAPE, "f16", 18, metadata);
  }
  return type === "f16" ? f16 : quantized(f16, "wide", type);
}

/** Removes the files made here (call from the test file's `after`). */
export function removeTestModels(): void {
  rmSync(DIR, { recursive: true, force: true });
}
