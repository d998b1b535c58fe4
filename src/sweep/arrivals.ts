/**
 * Request arrivals for a rate level: a Poisson process, i.e. exponential gaps with mean
 * 1 / rate, as vLLM's serving benchmark draws them at burstiness 1. Seeded, so a sweep sends
 * the same schedule every time.
 */
import { mulberry32 } from "../../lib/random/mulberry32.js";

/** Uniform in [0, 1), from mulberry32. */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** Gaps in ms between arrivals at `rate` requests per second. */
export function exponentialGaps(rate: number, seed: number): { next(): number } {
  if (!(rate > 0)) throw new TypeError(`rate must be > 0, got ${rate}`);
  const random = seededRandom(seed);
  return { next: () => (-Math.log(1 - random()) / rate) * 1000 };
}
