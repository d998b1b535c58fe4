/**
 * The protocol's `generate` timing, one loop for every in-process engine: tokenize, check the
 * context, then take sampled tokens one at a time until EOS, a stop string or the length limit,
 * stamping each with a monotonic clock. docs/DESIGN.md "Definitions" says what each figure is.
 */
import type { GenerateParams, GenerateResult } from "../../src/runner-client/protocol.js";
import { RunnerError } from "./serve.js";
import { findStop } from "./stop.js";

/** What the loop needs from an engine; `T` is its token type. */
export interface Decoder<T> {
  /** The context the runner enforces. */
  contextSize: number;
  /** The prompt's tokens (BOS included where the model adds one); may throw BAD_PARAMS. */
  tokenize(prompt: string): T[];
  /**
   * Sampled tokens after `prompt`, one per step, the first after prefill; the loop stops
   * early by leaving it (its `return`), so an engine computes no step past the last it needs.
   */
  decode(prompt: T[]): AsyncIterable<T>;
  isEndOfGeneration(token: T): boolean;
  /** The completion's text, with the prompt as context (SentencePiece keeps a leading space). */
  detokenize(completion: T[], prompt: T[]): string;
}

/** Runs one `generate` on `decoder`; `receivedAt` is when the request arrived (performance.now()). */
export async function generateTimed<T>(
  decoder: Decoder<T>,
  params: GenerateParams,
  receivedAt: number,
): Promise<GenerateResult> {
  const prompt = decoder.tokenize(params.prompt);
  const tokenizedAt = performance.now();
  if (prompt.length + 1 > decoder.contextSize) {
    throw new RunnerError(
      "CONTEXT_OVERFLOW",
      `prompt has ${prompt.length} tokens; the context holds ${decoder.contextSize}`,
    );
  }
  const maxTokens = Math.min(params.maxTokens, decoder.contextSize - prompt.length);
  const completion: T[] = [];
  let text = "";
  let firstAt = 0;
  let lastAt = 0;
  let finishReason: GenerateResult["finishReason"] = "length";
  for await (const token of decoder.decode(prompt)) {
    lastAt = performance.now();
    if (firstAt === 0) firstAt = lastAt;
    if (decoder.isEndOfGeneration(token)) {
      finishReason = "eos";
      break;
    }
    completion.push(token);
    text = decoder.detokenize(completion, prompt);
    const cut = findStop(text, params.stop);
    if (cut >= 0) {
      text = text.slice(0, cut);
      finishReason = "stop";
      break;
    }
    if (completion.length >= maxTokens) break;
  }
  return {
    text,
    promptTokens: prompt.length,
    completionTokens: completion.length,
    ttftMs: firstAt - receivedAt,
    tokenizeMs: tokenizedAt - receivedAt,
    decodeMs: lastAt - firstAt,
    totalMs: performance.now() - receivedAt,
    finishReason,
  };
}
