/**
 * Request arrivals for a rate level: a Poisson process, i.e. exponential gaps with mean
 * 1 / rate, as vLLM's serving benchmark draws them at burstiness 1. Seeded, so a sweep sends
 * the same schedule every time.
 */

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gaps in ms between arrivals at `rate` requests per second. */
export function exponentialGaps(rate: number, seed: number): { next(): number } {
  if (!(rate > 0)) throw new TypeError(`rate must be > 0, got ${rate}`);
  const random = seededRandom(seed);
  return { next: () => (-Math.log(1 - random()) / rate) * 1000 };
}
