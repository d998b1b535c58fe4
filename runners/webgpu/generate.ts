/** The protocol's `generate`: greedy decoding with stop strings, timed inside the runner. */
import type { GenerateParams, GenerateResult } from "../../src/runner-client/protocol.js";
import { RunnerError } from "../shared/serve.js";
import { findStop } from "../shared/stop.js";
import { prefill, type Session } from "./session.js";

export async function generate(
  state: Session,
  params: GenerateParams,
  receivedAt: number,
): Promise<GenerateResult> {
  if (params.temperature > 0) {
    throw new RunnerError("BAD_PARAMS", "the WebGPU runner samples greedily only (temperature 0)");
  }
  const { graph, tokenizer } = state;
  const prompt = tokenizer.tokenize(params.prompt, true);
  const tokenizedAt = performance.now();
  if (prompt.length === 0) throw new RunnerError("BAD_PARAMS", "the prompt has no tokens");
  if (prompt.length + 1 > graph.contextSize) {
    throw new RunnerError(
      "CONTEXT_OVERFLOW",
      `prompt has ${prompt.length} tokens; the context holds ${graph.contextSize}`,
    );
  }
  const maxTokens = Math.min(params.maxTokens, graph.contextSize - prompt.length);
  const completion: number[] = [];
  let text = "";
  let finishReason: GenerateResult["finishReason"] = "length";
  let token = await prefill(graph, prompt);
  const firstAt = performance.now();
  let lastAt = firstAt;
  while (maxTokens > 0) {
    if (tokenizer.isEndOfGeneration(token)) {
      finishReason = "eos";
      break;
    }
    completion.push(token);
    text = tokenizer.detokenize(completion, prompt);
    const cut = findStop(text, params.stop);
    if (cut >= 0) {
      text = text.slice(0, cut);
      finishReason = "stop";
      break;
    }
    if (completion.length >= maxTokens) break;
    token = await graph.nextToken([token], prompt.length + completion.length - 1);
    lastAt = performance.now();
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
