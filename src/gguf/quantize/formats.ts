import { BF16, F16, F32 } from "./float-formats.js";
import { Q4_0 } from "./q4-0.js";
import { Q4_1 } from "./q4-1.js";
import { Q5_0 } from "./q5-0.js";
import { Q5_1 } from "./q5-1.js";
import { Q8_0 } from "./q8-0.js";
import type { BlockFormat } from "./types.js";

/** Every format qbench reads and writes tensor data in, by ggml type id. */
export const FORMATS: ReadonlyMap<number, BlockFormat> = new Map(
  [F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0].map((f) => [f.type, f]),
);

export interface QuantizeTarget {
  /** What `qbench quantize --type` takes, e.g. `q4_0`. */
  readonly name: string;
  readonly format: BlockFormat;
  /** `general.file_type` llama-quantize writes for it (llama.h enum llama_ftype). */
  readonly fileType: number;
}

/** The targets of `qbench quantize`, with llama-quantize's file types (LLAMA_FTYPE_MOSTLY_*). */
export const QUANTIZE_TARGETS: readonly QuantizeTarget[] = [
  { name: "q8_0", format: Q8_0, fileType: 7 },
  { name: "q4_0", format: Q4_0, fileType: 2 },
  { name: "q4_1", format: Q4_1, fileType: 3 },
  { name: "q5_0", format: Q5_0, fileType: 8 },
  { name: "q5_1", format: Q5_1, fileType: 9 },
  { name: "f16", format: F16, fileType: 1 },
  { name: "bf16", format: BF16, fileType: 32 },
];

export function quantizeTarget(name: string): QuantizeTarget | undefined {
  const wanted = name.toLowerCase();
  return QUANTIZE_TARGETS.find((t) => t.name === wanted);
}
