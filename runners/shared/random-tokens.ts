import { mulberry32 } from "../../lib/random/mulberry32.js";

/** Deterministic pseudo-random token ids below `vocabulary`, as llama-bench feeds random tokens. */
export function randomTokens(count: number, vocabulary: number, seed: number): number[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => next() % vocabulary);
}
