/** One ggml block format qbench can write (and read back for --allow-requantize). */
export interface BlockFormat {
  /** ggml type name, e.g. `Q4_0`. */
  readonly name: string;
  /** ggml type id (ggml.h enum ggml_type). */
  readonly type: number;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /** Encodes `x` (a whole number of blocks) into `out` (`x.length / blockSize * typeSize` bytes). */
  quantizeRow(x: Float32Array, out: Uint8Array): void;
  /**
   * Encodes one row `x` under importance weights `qw` (one per element of the row), as
   * llama-quantize does with an imatrix. Absent: the format ignores an imatrix.
   */
  quantizeRowWeighted?(x: Float32Array, out: Uint8Array, qw: Float32Array): void;
  /** Decodes `q` into `y` (`y.length` elements), as ggml's to_float does. */
  dequantizeRow(q: Uint8Array, y: Float32Array): void;
  /** Index of the first block in `q` whose stored scales or values are NaN or infinite, or -1 (ggml_validate_row_data). */
  findInvalidBlock(q: Uint8Array): number;
}
