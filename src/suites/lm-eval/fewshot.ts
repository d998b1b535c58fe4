import { mulberry32 } from "../../../lib/random/mulberry32.js";

type Doc = Record<string, unknown>;

/**
 * lm-eval's samplers (lm_eval/api/samplers.py). `default`: `rnd.sample(pool, n)`, or n + 1 drawn
 * and the eval doc removed (then the first n) when the pool is the split being evaluated;
 * `first_n`: the pool's first n (without the eval doc). One generator per task, seeded with the
 * plan's seed and drawn doc after doc, as lm-eval seeds one per task; its generator is Python's
 * Mersenne Twister, this one mulberry32, so the same seed picks other shots than lm-eval's.
 */
export function fewshotSampler(
  pool: readonly Doc[],
  sampler: "default" | "first_n",
  seed: number,
): (n: number, evalDoc: Doc | undefined) => Doc[] {
  const next = mulberry32(seed);
  const uniform = (bound: number) => Math.floor((next() / 2 ** 32) * bound);
  return (n, evalDoc) => {
    if (n === 0) return [];
    const isEval = (d: Doc) => evalDoc !== undefined && sameDoc(d, evalDoc);
    if (sampler === "first_n") {
      const rest = evalDoc === undefined ? pool : pool.filter((d) => !isEval(d));
      if (n > rest.length)
        throw new Error(`${n} shots asked, the few-shot split has ${rest.length}`);
      return rest.slice(0, n);
    }
    const k = evalDoc === undefined ? n : n + 1;
    if (k > pool.length)
      throw new Error(`${k} docs to sample, the few-shot split has ${pool.length}`);
    const picked = sample(pool, k, uniform);
    return (evalDoc === undefined ? picked : picked.filter((d) => !isEval(d))).slice(0, n);
  };
}

/** k distinct docs in the order drawn (a partial Fisher–Yates shuffle, as random.sample's result). */
function sample(pool: readonly Doc[], k: number, uniform: (bound: number) => number): Doc[] {
  const order = pool.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + uniform(order.length - i);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order.slice(0, k).map((i) => pool[i] as Doc);
}

/** Python's dict equality, which rm_eval_doc uses to drop the eval doc. */
function sameDoc(a: Doc, b: Doc): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
