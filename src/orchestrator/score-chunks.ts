import { createHash } from "node:crypto";
import { RunnerFailure } from "../errors.js";
import type { RunnerClient } from "../runner-client/client.js";
import type { EvaluateParams, EvaluateResult, LoadResult } from "../runner-client/protocol.js";
import { type Chunk, type NllSums, nllSums, perplexityChunks } from "../scoring/perplexity.js";
import { type ChunkTopK, compareWithBaseline, packTopK, targetsOf } from "./topk.js";

/** A llama-perplexity chunk with the hash that pairs it with the baseline's. */
export interface HashedChunk extends Chunk {
  tokensHash: string;
}

/** What a variant's chunk is compared with: the baseline's tokens and, if kept, its top-K. */
export interface BaselineChunk {
  tokensHash: string;
  topk?: ChunkTopK | undefined;
}

export interface ScoredChunk {
  tokensHash: string;
  logprobs: Float32Array;
  /** Sums over the scored tokens, from the runner's log-probs before they are packed. */
  sums: NllSums;
  topk?: ChunkTopK;
  kld?: Float32Array;
  sameTop?: Uint8Array;
  /** Exact KLD: the reference model's log-probs of the same tokens (the lockstep pass's). */
  referenceLogprobs?: Float32Array;
  /** Top-K KLD: the baseline's mass its kept entries cover per token (exact KLD: absent). */
  covered?: Float32Array;
  evalMs: number;
  ipcMs: number;
}

/** A text tokenized once with BOS, and its chunks; `tokensHash` is over all its tokens. */
export interface TokenizedText {
  tokenCount: number;
  tokensHash: string;
  chunks: HashedChunk[];
}

/** Tokenizes a text once (with BOS) and cuts it into chunks of ctx tokens. */
export async function tokenizeChunks(
  runner: RunnerClient,
  loaded: LoadResult,
  text: string,
  ctx: number,
  timeoutMs?: number,
): Promise<TokenizedText> {
  const { tokens } = await runner.request("tokenize", { text, addBos: true }, timeoutMs);
  const chunks = perplexityChunks(tokens, ctx, loaded.addBos ? loaded.bos : null);
  return {
    tokenCount: tokens.length,
    tokensHash: hashTokens(tokens),
    chunks: chunks.map((chunk) => ({ ...chunk, tokensHash: hashTokens(chunk.tokens) })),
  };
}

function hashTokens(tokens: readonly number[]): string {
  return createHash("sha256").update(Int32Array.from(tokens)).digest("hex");
}

/** KLD and paired perplexity need the baseline's tokens: throws TOKENIZATION_MISMATCH if not. */
export function checkSameTokens(
  tokens: { tokensHash: string },
  baseline: { tokensHash: string } | undefined,
): void {
  if (!baseline || tokens.tokensHash === baseline.tokensHash) return;
  throw new RunnerFailure(
    "error",
    "the tokens differ from the baseline's: KLD and paired perplexity need the same tokenization",
    { runnerCode: "TOKENIZATION_MISMATCH" },
  );
}

/**
 * Evaluates one chunk. The baseline keeps its top-K per token (`topK`); another variant is
 * asked for its log-probs of the baseline's ids, giving per-token KLD (a bound) and same-top —
 * or, with `reference`, its runner evaluates the chunk on the baseline model too and returns
 * the exact KLD and same-top over the whole vocabulary.
 */
export async function scoreChunk(
  runner: RunnerClient,
  chunk: HashedChunk,
  options: ChunkOptions & { baseline?: BaselineChunk | undefined },
): Promise<ScoredChunk> {
  checkSameTokens(chunk, options.baseline);
  if (options.reference) return scoreAgainstReference(runner, chunk, options.timeoutMs);
  const sentAt = performance.now();
  const out = await runner.request("evaluate", windowOf(chunk, options), options.timeoutMs);
  return scoredOf(chunk, options, out, performance.now() - sentAt);
}

export interface ChunkOptions {
  topK: number;
  reference?: boolean | undefined;
  timeoutMs?: number;
}

/**
 * Several chunks in one `evaluateBatch` (capability `evaluate-batch`), each with its baseline:
 * the runner evaluates them side by side as parallel sequences; each chunk's figures are what
 * `scoreChunk` gives for it. The request's IPC time is shared out by positions.
 */
export async function scoreChunks(
  runner: RunnerClient,
  chunks: readonly HashedChunk[],
  baselines: ReadonlyArray<BaselineChunk | undefined>,
  options: ChunkOptions,
): Promise<ScoredChunk[]> {
  if (options.reference) throw new Error("scoreChunks: exact KLD goes one chunk at a time");
  chunks.forEach((chunk, i) => {
    checkSameTokens(chunk, baselines[i]);
  });
  const windows = chunks.map((chunk, i) => windowOf(chunk, { ...options, baseline: baselines[i] }));
  const sentAt = performance.now();
  const out = await runner.request("evaluateBatch", { windows }, options.timeoutMs);
  const ipcMs = performance.now() - sentAt;
  const positions = windows.reduce((n, w) => n + w.tokens.length - w.scoreFrom, 0);
  return chunks.map((chunk, i) => {
    const result = out.results[i] as EvaluateResult;
    const share = (windows[i] as EvaluateParams).tokens.length - chunk.scoreFrom;
    return scoredOf(
      chunk,
      { ...options, baseline: baselines[i] },
      result,
      (ipcMs * share) / positions,
    );
  });
}

function windowOf(
  chunk: HashedChunk,
  options: ChunkOptions & { baseline?: BaselineChunk | undefined },
): EvaluateParams {
  const base = options.baseline?.topk;
  return {
    tokens: chunk.tokens,
    scoreFrom: chunk.scoreFrom,
    topK: base ? 1 : options.topK,
    ...(base ? { targets: targetsOf(base) } : {}),
  };
}

function scoredOf(
  chunk: HashedChunk,
  options: ChunkOptions & { baseline?: BaselineChunk | undefined },
  out: EvaluateResult,
  ipcMs: number,
): ScoredChunk {
  const base = options.baseline?.topk;
  const scored: ScoredChunk = {
    tokensHash: chunk.tokensHash,
    logprobs: Float32Array.from(out.scored.map((s) => s.logprob)),
    sums: nllSums(out.scored.map((s) => s.logprob)),
    evalMs: out.evalMs,
    ipcMs,
  };
  if (base) Object.assign(scored, compareWithBaseline(base, out.scored));
  else if (options.topK > 0) scored.topk = packTopK(out.scored);
  return scored;
}

async function scoreAgainstReference(
  runner: RunnerClient,
  chunk: HashedChunk,
  timeoutMs: number | undefined,
): Promise<ScoredChunk> {
  const sentAt = performance.now();
  const out = await runner.request(
    "evaluate",
    { tokens: chunk.tokens, scoreFrom: chunk.scoreFrom, topK: 0, reference: true },
    timeoutMs,
  );
  const logprobs = out.scored.map((s) => s.logprob);
  return {
    tokensHash: chunk.tokensHash,
    logprobs: Float32Array.from(logprobs),
    sums: nllSums(logprobs),
    kld: Float32Array.from(out.scored, (s) => s.kld ?? Number.NaN),
    sameTop: Uint8Array.from(out.scored, (s) => (s.sameTop ? 1 : 0)),
    referenceLogprobs: Float32Array.from(out.scored, (s) => s.referenceLogprob ?? Number.NaN),
    evalMs: out.evalMs,
    ipcMs: performance.now() - sentAt,
  };
}
