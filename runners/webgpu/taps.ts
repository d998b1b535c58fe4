/** Where an importance matrix is read: each matmul's input, marked as the steps are built (imatrix.ts sums them). */

/** A matmul input: the activations before layer step `at`, read by the weights `names`. */
export interface Tap {
  at: number;
  input: GPUBuffer;
  /** Columns of the input (the weights' row length). */
  cols: number;
  names: string[];
  /** Set when the matmul applies RMSNorm (this weight, this epsilon) to the input itself. */
  norm?: { g: GPUBuffer; eps: number } | undefined;
}

/** The tap of the matmul at step `at` by the weights `of` (sharing one input). */
export function matmulInput(
  at: number,
  input: GPUBuffer,
  of: ReadonlyArray<{ name: string; dims: readonly number[] }>,
  norm?: Tap["norm"],
): Tap {
  return { at, input, cols: of[0]?.dims[0] ?? 0, names: of.map((t) => t.name), norm };
}
