/** What a loaded model holds: the GPU graph, llama.cpp's tokenizer for the file, the vocabulary size. */
import type { GgufTensorInfo } from "../../lib/gguf/reader.js";
import { RunnerError } from "../shared/serve.js";
import type { LlamaGraph } from "./graph.js";
import type { LlamaModel } from "./model-config.js";
import type { Tokenizer } from "./tokenizer.js";

export interface Session {
  graph: LlamaGraph;
  tokenizer: Tokenizer;
  vocab: number;
  /** The file the weights now come from (the last swap-weights', else load's), as described. */
  file: { path: string; model: LlamaModel; tensors: readonly GgufTensorInfo[] };
}

export function checkTokens(state: Session, tokens: readonly number[], what: string): void {
  const bad = tokens.find((t) => !Number.isInteger(t) || t < 0 || t >= state.vocab);
  if (bad !== undefined) {
    throw new RunnerError(
      "BAD_PARAMS",
      `${what} holds ${bad}, not a token id below ${state.vocab}`,
    );
  }
}

/** Runs `tokens` through the KV cache from position 0 in batches; returns the greedy token after them. */
export async function prefill(graph: LlamaGraph, tokens: readonly number[]): Promise<number> {
  let pos = 0;
  while (tokens.length - pos > graph.maxBatch) {
    graph.prefill(tokens.slice(pos, pos + graph.maxBatch), pos);
    pos += graph.maxBatch;
  }
  return graph.nextToken(tokens.slice(pos), pos);
}
