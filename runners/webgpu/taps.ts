/** Where an importance matrix is read: each matmul's input, marked as the steps are built (imatrix.ts sums them). */
import type { Step } from "./steps.js";

/** A matmul input: the activations before layer step `at`, read by the weights `names`. */
export interface Tap {
  at: number;
  input: GPUBuffer;
  /** Columns of the input (the weights' row length). */
  cols: number;
  names: string[];
  /** Set when the matmul applies RMSNorm (this weight, this epsilon) to the input itself. */
  norm?: { g: GPUBuffer; eps: number } | undefined;
  /**
   * Every weight reading it is F16, whose matmul on ggml's CPU backend takes the input rounded
   * to f16 (imatrix.ts's `f16Inputs`). Set with `prenormed` when `norm` is.
   */
  f16?: boolean;
  /**
   * The steps from `at` on that read `input` (one, or one per part of a matrix split at rows),
   * reading `xn` instead: the input already normalized (and rounded). They replace as many steps.
   */
  prenormed?: ((xn: GPUBuffer) => Step[]) | undefined;
}

/** The tap of the matmul at step `at` by the weights `of` (sharing one input). */
export function matmulInput(
  at: number,
  input: GPUBuffer,
  of: ReadonlyArray<{ name: string; dims: readonly number[] }>,
  norm?: Tap["norm"],
  f16?: { prenormed?: Tap["prenormed"] },
): Tap {
  const tap: Tap = { at, input, cols: of[0]?.dims[0] ?? 0, names: of.map((t) => t.name), norm };
  if (f16 && (norm === undefined || f16.prenormed)) {
    tap.f16 = true;
    tap.prenormed = f16.prenormed;
  }
  return tap;
}
