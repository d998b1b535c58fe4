/**
 * KL divergence over the whole vocabulary, as `llama-perplexity --kl-divergence` computes it:
 * the reference's log-softmax stored on llama-perplexity's 16-bit grid (a scale and an offset
 * per position, entries more than 16 below the maximum clamped), the variant's in double, and
 * KL(P_reference ‖ P_variant) summed over the entries with ln p > −16.
 */

/** One reference position on llama-perplexity's grid: ln p_i = scale · levels[i] + minLogprob. */
export interface GridLogprobs {
  scale: number;
  minLogprob: number;
  levels: Uint16Array;
  /** The exact log-probability of the scored token (not rounded to the grid). */
  targetLogprob: number;
}

const f32 = Math.fround;

/** llama-perplexity's `log_softmax` of the base pass: the dense logits rounded to its grid. */
export function toGrid(logits: Float32Array, target: number): GridLogprobs {
  let max = logits[0] as number;
  let min = max;
  for (let i = 1; i < logits.length; i++) {
    const v = logits[i] as number;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  min = Math.max(min, max - 16);
  let sumExp = 0;
  for (let i = 0; i < logits.length; i++) sumExp += Math.exp((logits[i] as number) - max);
  const logSumExp = Math.log(sumExp);
  const minLogprob = f32(min - max - logSumExp);
  const scale = f32((max - min) / 65535);
  const levels = new Uint16Array(logits.length);
  if (scale > 0) {
    const inverse = f32(1 / scale);
    for (let i = 0; i < logits.length; i++) {
      const v = logits[i] as number;
      levels[i] = v > min ? Math.round(f32(inverse * f32(v - min))) : 0;
    }
  }
  return { scale, minLogprob, levels, targetLogprob: (logits[target] as number) - max - logSumExp };
}

export interface PositionKld {
  kld: number;
  sameTop: boolean;
  /** The variant's log-probability of the scored token. */
  logprob: number;
}

/** llama-perplexity's `log_softmax` of the KLD pass: the variant's dense logits against the grid. */
export function kldAgainstGrid(
  reference: GridLogprobs,
  logits: Float32Array,
  target: number,
): PositionKld {
  let max = logits[0] as number;
  let top = 0;
  for (let i = 1; i < logits.length; i++) {
    if ((logits[i] as number) > max) {
      max = logits[i] as number;
      top = i;
    }
  }
  let sumExp = 0;
  for (let i = 0; i < logits.length; i++) sumExp += Math.exp((logits[i] as number) - max);
  const logZ = max + Math.log(sumExp);
  const { scale, minLogprob, levels } = reference;
  let sum = 0;
  let referenceTop = 0;
  let referenceMax = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const lp = f32(scale * (levels[i] as number) + minLogprob);
    if (lp > referenceMax) {
      referenceMax = lp;
      referenceTop = i;
    }
    if (lp > -16) sum += Math.exp(lp) * (lp - (logits[i] as number) + logZ);
  }
  return { kld: sum, sameTop: top === referenceTop, logprob: (logits[target] as number) - logZ };
}

/** The dense logits of one position from node-llama-cpp's id → logit map. */
export function denseLogits(map: ReadonlyMap<number, number>, vocabulary: number): Float32Array {
  const dense = new Float32Array(vocabulary);
  for (const [id, logit] of map) dense[id] = logit;
  return dense;
}
