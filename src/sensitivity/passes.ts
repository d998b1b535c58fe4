import { RunnerSession, type RunnerSpec } from "../orchestrator/runner-session.js";
import {
  checkSameTokens,
  type ScoredChunk,
  scoreChunk,
  type TokenizedText,
  tokenizeChunks,
} from "../orchestrator/score-chunks.js";
import { concatFloat32 } from "../scoring/concat.js";
import { comparePerplexity, summarizeKld } from "../scoring/kld.js";
import { combinePerplexity } from "../scoring/perplexity.js";
import type { GroupFigures } from "../store/sensitivity.js";

/** One model's pass over the calibration text's first chunks. */
export interface Pass extends TokenizedText {
  scored: ScoredChunk[];
  /** Spawn, load, tokenize and evaluate: what one more group costs. */
  seconds: number;
}

export interface PassOptions {
  ctx: number;
  /** At most this many chunks (the first ones), or all. */
  chunks: number | undefined;
  /** Top-K kept per token (the baseline's pass); 0 for a variant. */
  topK: number;
  baseline?: Pass | undefined;
  /** Exact KLD: the spec's load names the baseline as `reference`. */
  reference?: boolean;
  /** After tokenizing, before any chunk is evaluated; may refuse the text by throwing. */
  onTokenized?: (text: TokenizedText) => void;
}

/** Starts the model's runner, scores the text's first chunks, and stops the runner. */
export async function scorePass(
  spec: RunnerSpec,
  text: string,
  options: PassOptions,
): Promise<Pass> {
  const started = performance.now();
  const runners = new RunnerSession(spec);
  try {
    return await scoreOn(await runners.runner(), text, options, started);
  } finally {
    await runners.close();
  }
}

/** A runner started by a RunnerSession: its client, and what it said at initialize and load. */
export type LiveRunner = Awaited<ReturnType<RunnerSession["runner"]>>;

/** Scores the text's first chunks on a live runner (its model loaded or swapped in since `started`). */
export async function scoreOn(
  runner: Pick<LiveRunner, "client" | "loaded">,
  text: string,
  options: PassOptions,
  started = performance.now(),
): Promise<Pass> {
  const { client, loaded } = runner;
  const all = await tokenizeChunks(client, loaded, text, options.ctx);
  const chunks = all.chunks.slice(0, options.chunks ?? all.chunks.length);
  const tokenized = { ...all, chunks };
  checkSameTokens(tokenized, options.baseline);
  options.onTokenized?.(tokenized);
  const scored: ScoredChunk[] = [];
  for (const [i, chunk] of chunks.entries()) {
    scored.push(
      await scoreChunk(client, chunk, {
        topK: options.topK,
        baseline: options.baseline?.scored[i],
        reference: options.reference,
      }),
    );
  }
  return { ...tokenized, scored, seconds: (performance.now() - started) / 1000 };
}

/** A variant's figures against the baseline on the same tokens. */
export interface PassFigures extends GroupFigures {
  /** Mean baseline mass the kept top-K covers (top-K KLD), or undefined (exact). */
  covered: number | undefined;
  tokens: number;
}

const logprobsOf = (p: Pass) => concatFloat32(p.scored.map((s) => s.logprobs));

export function passFigures(variant: Pass, baseline: Pass): PassFigures {
  const kld = summarizeKld(
    concatFloat32(variant.scored.map((s) => s.kld ?? new Float32Array())),
    Uint8Array.from(variant.scored.flatMap((s) => Array.from(s.sameTop ?? []))),
  );
  const cmp = comparePerplexity(logprobsOf(variant), logprobsOf(baseline));
  const covered = variant.scored.every((s) => s.covered)
    ? mean(concatFloat32(variant.scored.map((s) => s.covered ?? new Float32Array())))
    : undefined;
  return {
    meanKld: kld.meanKld,
    meanKldError: kld.meanKldError,
    p99Kld: kld.p99Kld,
    sameTopPct: kld.sameTopPct,
    ppl: cmp.ppl,
    pplRatio: cmp.ratio,
    pplRatioError: cmp.ratioError,
    covered,
    tokens: kld.n,
  };
}

/** The baseline's perplexity over its scored tokens. */
export function passPerplexity(pass: Pass): number {
  return combinePerplexity(pass.scored.map((s) => s.sums)).ppl;
}

/** The baseline's mass its kept top-K entries cover, averaged over the scored tokens. */
export function topKCoverage(baseline: Pass): number {
  let mass = 0;
  let count = 0;
  for (const chunk of baseline.scored) {
    if (!chunk.topk) continue;
    for (const lp of chunk.topk.logprobs) mass += Math.exp(lp);
    count += chunk.topk.counts.length;
  }
  return count > 0 ? mass / count : 0;
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length > 0 ? sum / values.length : Number.NaN;
}
