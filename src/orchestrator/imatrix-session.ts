/**
 * `qbench imatrix`'s pass: the text cut as llama-imatrix cuts it (tokenized once with BOS,
 * chunks of ctx tokens, the first of each set to BOS; every token of a chunk counts, not only
 * the second half perplexity scores), each chunk sent to the runner's `collectImatrix`, the
 * sums read back once after the last.
 */
import { InputError } from "../errors.js";
import type { ImatrixMatrix, LoadResult } from "../runner-client/protocol.js";
import { perplexityChunks } from "../scoring/perplexity.js";
import { RunnerSession, type RunnerSpec } from "./runner-session.js";

export interface ImatrixOptions {
  ctx: number;
  /** At most this many chunks (llama-imatrix --chunks); all the text holds when absent. */
  chunks?: number | undefined;
  /** Where the text came from, for errors. */
  location: string;
  /** F16 matmuls take their input rounded to f16, as llama.cpp's CPU backend (collectImatrix's f16Inputs). */
  f16Inputs?: boolean;
  /** After tokenizing, before any chunk runs. */
  onTokenized?: (tokenCount: number, chunks: number) => void;
  /** After each chunk. */
  onChunk?: (done: number, total: number) => void;
}

export interface ImatrixPass {
  loaded: LoadResult;
  tokenCount: number;
  /** Chunks evaluated: imatrix.chunk_count. */
  chunks: number;
  matrices: ImatrixMatrix[];
  evalSeconds: number;
}

/** llama-imatrix's chunks of `tokens`: it refuses a text of fewer than 2 × ctx tokens. */
export function imatrixChunks(
  tokens: readonly number[],
  ctx: number,
  bos: number | null,
  limit: number | undefined,
  location: string,
): number[][] {
  if (tokens.length < 2 * ctx) {
    throw new InputError(
      "BAD_INPUT",
      `the text has ${tokens.length} tokens; --ctx ${ctx} needs at least ${2 * ctx} (llama-imatrix's minimum)`,
      { location },
    );
  }
  const chunks = perplexityChunks(tokens, ctx, bos).map((c) => c.tokens);
  return limit === undefined ? chunks : chunks.slice(0, limit);
}

/** Starts the model's runner, collects the importance matrix over the text, stops the runner. */
export async function collectImatrixPass(
  spec: RunnerSpec,
  text: string,
  options: ImatrixOptions,
): Promise<ImatrixPass> {
  const runners = new RunnerSession(spec);
  try {
    const { client, init, loaded } = await runners.runner();
    if (!init.capabilities.includes("imatrix")) {
      throw new InputError(
        "BAD_USAGE",
        `runner ${client.command.name} cannot collect an importance matrix (no "imatrix" capability); use --backend webgpu`,
      );
    }
    const { tokens } = await client.request("tokenize", { text, addBos: true });
    const bos = loaded.addBos ? loaded.bos : null;
    const chunks = imatrixChunks(tokens, options.ctx, bos, options.chunks, options.location);
    options.onTokenized?.(tokens.length, chunks.length);
    const started = performance.now();
    let matrices: ImatrixMatrix[] | undefined;
    for (const [i, chunk] of chunks.entries()) {
      const last = i === chunks.length - 1;
      const result = await client.request("collectImatrix", {
        chunks: [chunk],
        reset: i === 0,
        read: last,
        f16Inputs: options.f16Inputs,
      });
      if (last) matrices = result.matrices;
      options.onChunk?.(i + 1, chunks.length);
    }
    return {
      loaded,
      tokenCount: tokens.length,
      chunks: chunks.length,
      matrices: matrices ?? [],
      evalSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    await runners.close();
  }
}
