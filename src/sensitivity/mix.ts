import type { GgufFile } from "../../lib/gguf/reader.js";
import { QUANTIZE_TARGETS } from "../gguf/quantize/formats.js";
import { assignmentOverrides } from "./assign.js";
import { modelSizes, stockDataBytes } from "./budget.js";
import { groupBytes, type QuantizableTensor, type TensorGroup, tensorBytes } from "./groups.js";
import { searchMix } from "./search.js";
import type { GroupResult } from "./sensitivity.js";

/** The searched mix: a type per group, and what it costs. */
export interface MixPlan {
  choices: { group: TensorGroup; type: number; kld: number; bytes: number }[];
  /** Each quantizable tensor's type. */
  assignment: Map<string, number>;
  /** The type `--pure` gives every tensor not overridden (the smallest candidate). */
  baseType: number;
  overrides: { pattern: string; type: number }[];
  /** Tensor data of the whole file, the tensors left as they are included. */
  dataBytes: number;
  /** dataBytes × 8 / every tensor's elements: llama.cpp's BPW. */
  bpw: number;
  /** Σ of the chosen groups' KLD alone: the additive estimate. */
  estimatedKld: number;
}

/**
 * The mix of least summed KLD within `dataBudget` bytes of tensor data, from each group's
 * measured KLD at each type (`byType[i]` holds every group's result at `types[i]`).
 */
export function planMix(
  file: GgufFile,
  tensors: readonly QuantizableTensor[],
  byType: readonly (readonly GroupResult[])[],
  dataBudget: number,
): MixPlan {
  const quantizable = new Set(tensors.map((t) => t.name));
  const fixedBytes = file.tensors
    .filter((t) => !quantizable.has(t.name))
    .reduce((sum, t) => sum + t.byteSize, 0);
  const groups = (byType[0] ?? []).map((r) => r.group);
  const types = byType.map((results) => results[0]?.type ?? 0);
  const choices = groups.map((group, g) => ({
    name: group.name,
    options: byType.map((results, i) => ({
      type: types[i] ?? 0,
      bytes: groupBytes(group, types[i] ?? 0),
      kld: Math.max(0, results[g]?.figures.meanKld ?? Number.POSITIVE_INFINITY),
    })),
  }));
  const solution = searchMix(choices, dataBudget - fixedBytes);
  const chosen = groups.map((group, g) => {
    const option = choices[g]?.options[solution.chosen[g] ?? 0];
    return { group, type: option?.type ?? 0, kld: option?.kld ?? 0, bytes: option?.bytes ?? 0 };
  });
  const assignment = new Map<string, number>();
  for (const c of chosen) for (const t of c.group.tensors) assignment.set(t.name, c.type);
  const sizeOf = (type: number) => tensors.reduce((sum, t) => sum + tensorBytes(t, type), 0);
  const baseType = [...types].sort((a, b) => sizeOf(a) - sizeOf(b))[0] ?? 0;
  const dataBytes = fixedBytes + solution.bytes;
  return {
    choices: chosen,
    assignment,
    baseType,
    overrides: assignmentOverrides(tensors, assignment, baseType),
    dataBytes,
    bpw: (8 * dataBytes) / modelSizes(file).elements,
    estimatedKld: solution.estimatedKld,
  };
}

/** Stock mixes of about the mix's size: the nearest at or below it and the nearest above. */
export function nearbyStockMixes(
  file: GgufFile,
  dataBytes: number,
): { name: string; dataBytes: number; bpw: number }[] {
  const { elements } = modelSizes(file);
  const stock = QUANTIZE_TARGETS.filter((t) => t.format.blockSize > 1)
    .map((t) => ({ name: t.name, dataBytes: stockDataBytes(file, t.name) }))
    .map((s) => ({ ...s, bpw: (8 * s.dataBytes) / elements }));
  const below = stock
    .filter((s) => s.dataBytes <= dataBytes)
    .sort((a, b) => b.dataBytes - a.dataBytes);
  const above = stock
    .filter((s) => s.dataBytes > dataBytes)
    .sort((a, b) => a.dataBytes - b.dataBytes);
  return [...below.slice(0, 2).reverse(), ...above.slice(0, 1)];
}

/** A `qbench run` plan that puts the mix beside stock mixes of its size, the source as baseline. */
export function planSnippet(options: {
  source: string;
  mix: string;
  mixName: string;
  stock: readonly { name: string; bpw: number }[];
  ctx: number;
}): string {
  const lines = [
    `# qbench run plan: the searched mix beside the stock mixes of its size, against the source.`,
    `# Score it on held-out text, not the calibration text: add a perplexity suite of your own.`,
    "name: mix-vs-stock",
    `from: ${JSON.stringify(options.source)}`,
    "variants:",
    `  - { model: ${JSON.stringify(options.source)}, name: source, precision: source, baseline: true }`,
    ...options.stock.map(
      (s) => `  - { quantize: ${s.name}, name: ${s.name} }  # ${s.bpw.toFixed(2)} bpw`,
    ),
    `  - { model: ${JSON.stringify(options.mix)}, name: ${options.mixName}, precision: mixed }`,
    "suites:",
    "  - my-heldout-perplexity.yaml  # metrics: [{ perplexity: { file: heldout.txt, ctx: " +
      `${options.ctx} } }]`,
    `contextSize: ${options.ctx}`,
    "kldMethod: exact",
  ];
  return `${lines.join("\n")}\n`;
}
