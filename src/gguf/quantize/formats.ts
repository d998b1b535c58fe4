import { BF16, F16, F32 } from "./float-formats.js";
import { IQ4_NL, IQ4_XS } from "./iq4.js";
import { Q2_K } from "./q2-k.js";
import { Q3_K } from "./q3-k.js";
import { Q4_0 } from "./q4-0.js";
import { Q4_1 } from "./q4-1.js";
import { Q4_K } from "./q4-k.js";
import { Q5_0 } from "./q5-0.js";
import { Q5_1 } from "./q5-1.js";
import { Q5_K } from "./q5-k.js";
import { Q6_K } from "./q6-k.js";
import { Q8_0 } from "./q8-0.js";
import type { BlockFormat } from "./types.js";

/** Every format qbench reads and writes tensor data in, by ggml type id. */
export const FORMATS: ReadonlyMap<number, BlockFormat> = new Map(
  [F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS].map(
    (f) => [f.type, f],
  ),
);

export interface QuantizeTarget {
  /** What `qbench quantize --type` takes, e.g. `q4_k_m`. */
  readonly name: string;
  /** The file type's default tensor type (llama_ftype_get_default_type); the mix may pick others per tensor. */
  readonly format: BlockFormat;
  /** `general.file_type` llama-quantize writes for it (llama.h enum llama_ftype). */
  readonly fileType: number;
}

/** The targets of `qbench quantize`, as llama-quantize names them, with its file types (LLAMA_FTYPE_MOSTLY_*). */
export const QUANTIZE_TARGETS: readonly QuantizeTarget[] = [
  { name: "q8_0", format: Q8_0, fileType: 7 },
  { name: "q4_0", format: Q4_0, fileType: 2 },
  { name: "q4_1", format: Q4_1, fileType: 3 },
  { name: "q5_0", format: Q5_0, fileType: 8 },
  { name: "q5_1", format: Q5_1, fileType: 9 },
  { name: "q2_k", format: Q2_K, fileType: 10 },
  { name: "q2_k_s", format: Q2_K, fileType: 21 },
  { name: "q3_k_s", format: Q3_K, fileType: 11 },
  { name: "q3_k_m", format: Q3_K, fileType: 12 },
  { name: "q3_k_l", format: Q3_K, fileType: 13 },
  { name: "q4_k_s", format: Q4_K, fileType: 14 },
  { name: "q4_k_m", format: Q4_K, fileType: 15 },
  { name: "q5_k_s", format: Q5_K, fileType: 16 },
  { name: "q5_k_m", format: Q5_K, fileType: 17 },
  { name: "q6_k", format: Q6_K, fileType: 18 },
  { name: "iq4_nl", format: IQ4_NL, fileType: 25 },
  { name: "iq4_xs", format: IQ4_XS, fileType: 30 },
  { name: "f16", format: F16, fileType: 1 },
  { name: "bf16", format: BF16, fileType: 32 },
];

/** llama-quantize's aliases: the unsuffixed k-quant names are the _M mixes. */
const ALIASES: Readonly<Record<string, string>> = {
  q3_k: "q3_k_m",
  q4_k: "q4_k_m",
  q5_k: "q5_k_m",
};

/** Every name `--type` and a plan's `quantize:` accept (lower case; matching is case-insensitive). */
export const QUANTIZE_TYPE_NAMES: readonly string[] = [
  ...QUANTIZE_TARGETS.map((t) => t.name),
  ...Object.keys(ALIASES),
];

export function quantizeTarget(name: string): QuantizeTarget | undefined {
  const lower = name.toLowerCase();
  const wanted = ALIASES[lower] ?? lower;
  return QUANTIZE_TARGETS.find((t) => t.name === wanted);
}

/** A ggml tensor type by name, case-insensitive (llama-quantize's parse_ggml_type), among those qbench writes. */
export function tensorFormat(name: string): BlockFormat | undefined {
  const upper = name.toUpperCase();
  return [...FORMATS.values()].find((f) => f.name === upper);
}

/** Whether the library's default for `target` is llama-quantize's mix (k-quants, IQ4) rather than --pure (legacy, float). */
export function mixesByDefault(target: QuantizeTarget): boolean {
  return target.format.blockSize === 256 || target.format === IQ4_NL;
}
