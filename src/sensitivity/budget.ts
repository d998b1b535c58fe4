import { GGML_TYPES } from "../../lib/gguf/ggml-types.js";
import type { GgufFile } from "../../lib/gguf/reader.js";
import { InputError } from "../errors.js";
import { mixesByDefault, QUANTIZE_TARGETS, quantizeTarget } from "../gguf/quantize/formats.js";
import { planQuantization } from "../gguf/quantize/plan.js";

/** A model's sizes the budget is read against. */
export interface ModelSizes {
  /** Elements of every tensor (the denominator of llama.cpp's BPW). */
  elements: number;
  /** Bytes of the file that are not tensor data (header, metadata, alignment), taken as fixed. */
  headerBytes: number;
}

export function modelSizes(file: GgufFile): ModelSizes {
  const data = file.tensors.reduce((sum, t) => sum + t.byteSize, 0);
  return {
    elements: file.tensors.reduce((sum, t) => sum + t.elementCount, 0),
    headerBytes: file.fileSize - data,
  };
}

/** Bytes of tensor data a stock target's file holds (llama-quantize's mix, or --pure for legacy types). */
export function stockDataBytes(file: GgufFile, name: string): number {
  const target = quantizeTarget(name);
  if (!target) throw new Error(`unreachable: unknown target ${name}`);
  const plan = planQuantization(file, target, {
    allowRequantize: false,
    pure: !mixesByDefault(target),
    overrides: [],
  });
  return plan.tensors.reduce((sum, p) => {
    const info = GGML_TYPES.get(p.type);
    return sum + (info ? (p.tensor.elementCount / info.blockSize) * info.typeSize : 0);
  }, 0);
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** What `--budget` asked for, as bytes of tensor data. */
export interface Budget {
  dataBytes: number;
  /** How it was read, for the output: `4.8 bpw`, `1.50 MiB file`, `the size of q4_k_m`. */
  described: string;
}

/**
 * `--budget`: bits per weight over every tensor (`4.8bpw`, llama.cpp's BPW), a file size
 * (`1.5MiB`, `2G`, `1500000`), or a stock mix's size (`q4_k_m`: what that mix's tensor data takes).
 */
export function parseBudget(text: string, file: GgufFile): Budget {
  const sizes = modelSizes(file);
  const value = text.trim().toLowerCase();
  const bpw = /^(\d+(?:\.\d+)?)\s*bpw$/.exec(value);
  if (bpw) {
    return { dataBytes: (Number(bpw[1]) * sizes.elements) / 8, described: `${bpw[1]} bpw` };
  }
  const size = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(value);
  if (size && UNITS[size[2] ?? ""] !== undefined) {
    const bytes = Number(size[1]) * (UNITS[size[2] ?? ""] ?? 1);
    return { dataBytes: bytes - sizes.headerBytes, described: `a ${bytes}-byte file` };
  }
  if (QUANTIZE_TARGETS.some((t) => t.name === value) || quantizeTarget(value)) {
    return { dataBytes: stockDataBytes(file, value), described: `the size of ${value}` };
  }
  throw new InputError(
    "BAD_USAGE",
    `--budget "${text}": expected bits per weight (4.8bpw), a file size (1.5MiB, 2G, 1500000) or a stock mix (q4_k_m)`,
  );
}
