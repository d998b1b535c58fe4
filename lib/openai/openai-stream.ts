/**
 * A streamed completion from an OpenAI-compatible server (`/v1/completions` or
 * `/v1/chat/completions` with `stream: true`), timed per token event as vLLM's serving
 * benchmark times it. A leaf: the http runner and the load sweep both use it, neither
 * through the other.
 */
import { call, classifyFailure, type Endpoint, HttpCallError, requestSignal } from "./http-call.js";

export interface CompletionRequest {
  model: string;
  prompt: string;
  /** Send the prompt as one user message to /v1/chat/completions (the server's chat template). */
  chat: boolean;
  maxTokens: number;
  temperature: number;
  stop: string[];
  seed?: number;
  /** Extra fields merged into the request body (e.g. `top_k`, `ignore_eos`). */
  extraBody?: Record<string, unknown>;
}

export interface StreamedCompletion {
  text: string;
  /** performance.now() at each token event (a chunk carrying text), in order. */
  tokenTimes: number[];
  /** From the final `usage` chunk; absent when the server sends none. */
  usage: { promptTokens: number; completionTokens: number } | undefined;
  finishReason: string | undefined;
  /**
   * vLLM / SGLang name what ended a `stop` finish: the stop string, or the stop token id;
   * null for EOS. Undefined when the server does not say (llama-server, Ollama, TGI).
   */
  stopReason: string | number | null | undefined;
  /** performance.now() when the stream ended. */
  endedAt: number;
}

interface Choice {
  text?: string | null;
  delta?: { content?: string | null; reasoning_content?: string | null };
  finish_reason?: string | null;
  stop_reason?: string | number | null;
}

interface Chunk {
  choices?: Choice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

export function completionBody(request: CompletionRequest): Record<string, unknown> {
  return {
    model: request.model,
    ...(request.chat
      ? { messages: [{ role: "user", content: request.prompt }] }
      : { prompt: request.prompt }),
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    ...(request.stop.length > 0 ? { stop: request.stop } : {}),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    stream: true,
    stream_options: { include_usage: true },
    ...request.extraBody,
  };
}

/** Splits an SSE byte stream into the `data` payloads of its events. */
class SseParser {
  private buffer = "";
  private data: string[] = [];

  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    let newline = this.buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, "");
      this.buffer = this.buffer.slice(newline + 1);
      if (line === "") {
        if (this.data.length > 0) events.push(this.data.join("\n"));
        this.data = [];
      } else if (line.startsWith("data:")) {
        this.data.push(line.slice(5).replace(/^ /, ""));
      }
      // Comments (":" keep-alives) and other fields are not payload.
      newline = this.buffer.indexOf("\n");
    }
    return events;
  }

  /** A last event not followed by a blank line. */
  flush(): string[] {
    const rest = this.buffer.startsWith("data:") ? [this.buffer.slice(5).trim()] : [];
    const events = this.data.length > 0 ? [this.data.join("\n"), ...rest] : rest;
    this.buffer = "";
    this.data = [];
    return events;
  }
}

/** The text a chunk carries, for completions or chat deltas. */
function chunkText(choice: Choice): string {
  if (typeof choice.text === "string") return choice.text;
  return (choice.delta?.reasoning_content ?? "") + (choice.delta?.content ?? "");
}

/**
 * Streams one completion. A token event is a chunk whose choice carries non-empty text: role-only
 * and usage-only chunks are not tokens. Fails with CONNECTION_LOST when the stream breaks off
 * before a finish_reason, SERVER_ERROR on an error status or an error event, REQUEST_TIMEOUT
 * past the endpoint's timeout (which covers retries and the whole stream).
 */
export async function streamCompletion(
  endpoint: Endpoint,
  request: CompletionRequest,
  outer?: AbortSignal,
): Promise<StreamedCompletion> {
  const path = request.chat ? "/v1/chat/completions" : "/v1/completions";
  const url = `${endpoint.baseUrl}${path}`;
  const signal = requestSignal(endpoint.timeoutMs, outer);
  const response = await call(endpoint, path, { body: completionBody(request) }, signal);
  const result: StreamedCompletion = {
    text: "",
    tokenTimes: [],
    usage: undefined,
    finishReason: undefined,
    stopReason: undefined,
    endedAt: 0,
  };
  const parser = new SseParser();
  const decoder = new TextDecoder();
  let done = false;
  const take = (payloads: string[], at: number) => {
    for (const payload of payloads) {
      if (payload === "[DONE]") {
        done = true;
        continue;
      }
      let chunk: Chunk;
      try {
        chunk = JSON.parse(payload) as Chunk;
      } catch (error) {
        throw new HttpCallError(
          "SERVER_ERROR",
          `${url}: a stream event is not JSON: ${payload.slice(0, 200)}`,
          {
            cause: error,
          },
        );
      }
      if (chunk.error) {
        const message =
          typeof chunk.error === "string" ? chunk.error : (chunk.error.message ?? "error");
        throw new HttpCallError("SERVER_ERROR", `${url}: error event mid-stream: ${message}`);
      }
      const choice = chunk.choices?.[0];
      if (choice) {
        const text = chunkText(choice);
        if (text !== "") {
          result.text += text;
          result.tokenTimes.push(at);
        }
        if (choice.finish_reason) result.finishReason = choice.finish_reason;
        if (choice.stop_reason !== undefined) result.stopReason = choice.stop_reason;
      }
      if (chunk.usage && typeof chunk.usage.completion_tokens === "number") {
        result.usage = {
          promptTokens: chunk.usage.prompt_tokens ?? 0,
          completionTokens: chunk.usage.completion_tokens,
        };
      }
    }
  };
  const body = response.body;
  if (!body) throw new HttpCallError("SERVER_ERROR", `${url}: answered without a body`);
  const reader = body.getReader();
  try {
    // Read to the body's end even after [DONE]: a body cancelled early costs the kept-alive
    // connection, and undici may already be handing that socket to the next request.
    for (;;) {
      const { value, done: ended } = await reader.read();
      const at = performance.now();
      if (ended) {
        if (!done) take(parser.flush(), at);
        break;
      }
      if (!done) take(parser.push(decoder.decode(value, { stream: true })), at);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof HttpCallError) throw error;
    throw classifyFailure(
      error,
      url,
      endpoint.timeoutMs,
      `mid-stream after ${result.tokenTimes.length} token events`,
    );
  }
  result.endedAt = performance.now();
  if (result.finishReason === undefined) {
    throw new HttpCallError(
      "CONNECTION_LOST",
      `${url}: the stream ended before the completion finished (${result.tokenTimes.length} token events, no finish_reason)`,
    );
  }
  return result;
}
