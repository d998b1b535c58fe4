/**
 * ggml tensor types and llama file types, transcribed from the llama.cpp sources bundled with
 * node-llama-cpp: ids from `ggml/include/ggml.h` (enum ggml_type), block sizes and byte sizes from
 * `ggml/src/ggml.c` (type_traits) and `ggml/src/ggml-common.h` (the block structs), file types from
 * `include/llama.h` (enum llama_ftype) and `src/llama-model-loader.cpp` (llama_ftype_name).
 */

export interface GgmlType {
  readonly id: number;
  /** The enum name without `GGML_TYPE_`, e.g. `Q4_K` (llama.cpp logs it lower-cased: `q4_K`). */
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  readonly quantized: boolean;
}

// [id, name, blockSize, typeSize, quantized]
const TYPES: readonly (readonly [number, string, number, number, boolean])[] = [
  [0, "F32", 1, 4, false],
  [1, "F16", 1, 2, false],
  [2, "Q4_0", 32, 18, true],
  [3, "Q4_1", 32, 20, true],
  [6, "Q5_0", 32, 22, true],
  [7, "Q5_1", 32, 24, true],
  [8, "Q8_0", 32, 34, true],
  [9, "Q8_1", 32, 36, true],
  [10, "Q2_K", 256, 84, true],
  [11, "Q3_K", 256, 110, true],
  [12, "Q4_K", 256, 144, true],
  [13, "Q5_K", 256, 176, true],
  [14, "Q6_K", 256, 210, true],
  [15, "Q8_K", 256, 292, true],
  [16, "IQ2_XXS", 256, 66, true],
  [17, "IQ2_XS", 256, 74, true],
  [18, "IQ3_XXS", 256, 98, true],
  [19, "IQ1_S", 256, 50, true],
  [20, "IQ4_NL", 32, 18, true],
  [21, "IQ3_S", 256, 110, true],
  [22, "IQ2_S", 256, 82, true],
  [23, "IQ4_XS", 256, 136, true],
  [24, "I8", 1, 1, false],
  [25, "I16", 1, 2, false],
  [26, "I32", 1, 4, false],
  [27, "I64", 1, 8, false],
  [28, "F64", 1, 8, false],
  [29, "IQ1_M", 256, 56, true],
  [30, "BF16", 1, 2, false],
  [34, "TQ1_0", 256, 54, true],
  [35, "TQ2_0", 256, 66, true],
  [39, "MXFP4", 32, 17, true],
  [40, "NVFP4", 64, 36, true],
  [41, "Q1_0", 128, 18, true],
  [42, "Q2_0", 64, 18, true],
];

export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map(
  TYPES.map(([id, name, blockSize, typeSize, quantized]) => [
    id,
    { id, name, blockSize, typeSize, quantized },
  ]),
);

/** Ids ggml once used and has since dropped; files carrying them can no longer be loaded. */
export const REMOVED_GGML_TYPES: ReadonlyMap<number, string> = new Map([
  [4, "Q4_2"],
  [5, "Q4_3"],
  [31, "Q4_0_4_4"],
  [32, "Q4_0_4_8"],
  [33, "Q4_0_8_8"],
  [36, "IQ4_NL_4_4"],
  [37, "IQ4_NL_4_8"],
  [38, "IQ4_NL_8_8"],
]);

export function ggmlType(id: number): GgmlType | undefined {
  return GGML_TYPES.get(id);
}

export function ggmlTypeByName(name: string): GgmlType | undefined {
  const wanted = name.toUpperCase();
  for (const type of GGML_TYPES.values()) if (type.name === wanted) return type;
  return undefined;
}

/** Bytes a tensor of this type and shape occupies, as ggml_nbytes computes it (rows are whole blocks). */
export function ggmlTensorBytes(type: GgmlType, elementCount: number): number {
  return (elementCount / type.blockSize) * type.typeSize;
}

export interface LlamaFileType {
  readonly id: number;
  /** The enum name without `LLAMA_FTYPE_`, e.g. `MOSTLY_Q4_K_M`. */
  readonly name: string;
  /** What llama.cpp prints for it, e.g. `Q4_K - Medium`. */
  readonly description: string;
}

// [id, name, description]
const FILE_TYPES: readonly (readonly [number, string, string])[] = [
  [0, "ALL_F32", "all F32"],
  [1, "MOSTLY_F16", "F16"],
  [2, "MOSTLY_Q4_0", "Q4_0"],
  [3, "MOSTLY_Q4_1", "Q4_1"],
  [4, "MOSTLY_Q4_1_SOME_F16", "Q4_1, some F16"],
  [7, "MOSTLY_Q8_0", "Q8_0"],
  [8, "MOSTLY_Q5_0", "Q5_0"],
  [9, "MOSTLY_Q5_1", "Q5_1"],
  [10, "MOSTLY_Q2_K", "Q2_K - Medium"],
  [11, "MOSTLY_Q3_K_S", "Q3_K - Small"],
  [12, "MOSTLY_Q3_K_M", "Q3_K - Medium"],
  [13, "MOSTLY_Q3_K_L", "Q3_K - Large"],
  [14, "MOSTLY_Q4_K_S", "Q4_K - Small"],
  [15, "MOSTLY_Q4_K_M", "Q4_K - Medium"],
  [16, "MOSTLY_Q5_K_S", "Q5_K - Small"],
  [17, "MOSTLY_Q5_K_M", "Q5_K - Medium"],
  [18, "MOSTLY_Q6_K", "Q6_K"],
  [19, "MOSTLY_IQ2_XXS", "IQ2_XXS - 2.0625 bpw"],
  [20, "MOSTLY_IQ2_XS", "IQ2_XS - 2.3125 bpw"],
  [21, "MOSTLY_Q2_K_S", "Q2_K - Small"],
  [22, "MOSTLY_IQ3_XS", "IQ3_XS - 3.3 bpw"],
  [23, "MOSTLY_IQ3_XXS", "IQ3_XXS - 3.0625 bpw"],
  [24, "MOSTLY_IQ1_S", "IQ1_S - 1.5625 bpw"],
  [25, "MOSTLY_IQ4_NL", "IQ4_NL - 4.5 bpw"],
  [26, "MOSTLY_IQ3_S", "IQ3_S - 3.4375 bpw"],
  [27, "MOSTLY_IQ3_M", "IQ3_S mix - 3.66 bpw"],
  [28, "MOSTLY_IQ2_S", "IQ2_S - 2.5 bpw"],
  [29, "MOSTLY_IQ2_M", "IQ2_M - 2.7 bpw"],
  [30, "MOSTLY_IQ4_XS", "IQ4_XS - 4.25 bpw"],
  [31, "MOSTLY_IQ1_M", "IQ1_M - 1.75 bpw"],
  [32, "MOSTLY_BF16", "BF16"],
  [33, "MOSTLY_Q4_0_4_4", "Q4_0_4_4 (removed)"],
  [34, "MOSTLY_Q4_0_4_8", "Q4_0_4_8 (removed)"],
  [35, "MOSTLY_Q4_0_8_8", "Q4_0_8_8 (removed)"],
  [36, "MOSTLY_TQ1_0", "TQ1_0 - 1.69 bpw ternary"],
  [37, "MOSTLY_TQ2_0", "TQ2_0 - 2.06 bpw ternary"],
  [38, "MOSTLY_MXFP4_MOE", "MXFP4 MoE"],
  [39, "MOSTLY_NVFP4", "NVFP4"],
  [40, "MOSTLY_Q1_0", "Q1_0"],
  [41, "MOSTLY_Q2_0", "Q2_0"],
];

export const LLAMA_FILE_TYPES: ReadonlyMap<number, LlamaFileType> = new Map(
  FILE_TYPES.map(([id, name, description]) => [id, { id, name, description }]),
);

/** `general.file_type` → its name; ids this table does not know come back as `UNKNOWN_<id>`. */
export function llamaFileTypeName(id: number): string {
  return LLAMA_FILE_TYPES.get(id)?.name ?? `UNKNOWN_${id}`;
}
