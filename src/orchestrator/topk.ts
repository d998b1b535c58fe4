import type { ScoredToken } from "../runner-client/protocol.js";
import { klDivergence, MIN_LOGPROB } from "../scoring/kld.js";

/** A baseline chunk's top-K per scored position, packed for storage. */
export interface ChunkTopK {
  /** Entries kept per position (the top-K, less those under MIN_LOGPROB; at least one). */
  counts: Uint16Array;
  ids: Int32Array;
  logprobs: Float32Array;
}

/** Packs the baseline's top-K, dropping entries llama.cpp's KLD would ignore anyway. */
export function packTopK(scored: readonly ScoredToken[]): ChunkTopK {
  const counts = new Uint16Array(scored.length);
  const ids: number[] = [];
  const logprobs: number[] = [];
  scored.forEach((s, i) => {
    const top = s.top ?? [];
    let kept = 0;
    for (const [id, lp] of top) {
      if (kept > 0 && lp < MIN_LOGPROB) break;
      ids.push(id);
      logprobs.push(lp);
      kept++;
    }
    counts[i] = kept;
  });
  return { counts, ids: Int32Array.from(ids), logprobs: Float32Array.from(logprobs) };
}

/** The token ids to ask the variant about, per position. */
export function targetsOf(topk: ChunkTopK): number[][] {
  const targets: number[][] = [];
  let at = 0;
  for (const count of topk.counts) {
    targets.push(Array.from(topk.ids.subarray(at, at + count)));
    at += count;
  }
  return targets;
}

/**
 * Per-token KLD and same-top flags of a variant's evaluation against the baseline's top-K, and
 * the baseline's mass its kept entries cover per token: the KLD is a lower bound where it is < 1.
 */
export function compareWithBaseline(
  topk: ChunkTopK,
  scored: readonly ScoredToken[],
): { kld: Float32Array; sameTop: Uint8Array; covered: Float32Array } {
  if (scored.length !== topk.counts.length) {
    throw new Error(
      `variant scored ${scored.length} positions, the baseline ${topk.counts.length}`,
    );
  }
  const kld = new Float32Array(scored.length);
  const sameTop = new Uint8Array(scored.length);
  const covered = new Float32Array(scored.length);
  let at = 0;
  scored.forEach((s, i) => {
    const count = topk.counts[i] ?? 0;
    const base = topk.logprobs.subarray(at, at + count);
    const variant = s.targets ?? [];
    if (variant.length !== count)
      throw new Error(`variant returned ${variant.length} target log-probs, expected ${count}`);
    kld[i] = klDivergence(base, variant);
    covered[i] = Math.min(
      1,
      base.reduce((mass, lp) => mass + Math.exp(lp), 0),
    );
    sameTop[i] = s.top?.[0]?.[0] === topk.ids[at] ? 1 : 0;
    at += count;
  });
  return { kld, sameTop, covered };
}
