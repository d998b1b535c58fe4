/** `tokenize` over HTTP: each server's own tokenize endpoint, or UNSUPPORTED. */
import { callJson, type Endpoint, HttpCallError } from "../../lib/openai/http-call.js";
import { CAPABILITIES, type ServerKind } from "./server-kind.js";

function badAnswer(url: string): HttpCallError {
  return new HttpCallError("SERVER_ERROR", `${url}: the answer has no token ids`);
}

function ids(value: unknown): number[] | undefined {
  return Array.isArray(value) && value.every((v) => Number.isInteger(v))
    ? (value as number[])
    : undefined;
}

/**
 * Token ids of `text`. `addBos` asks for the model's special prefix where the server lets the
 * caller choose (llama-server `add_special`, vLLM / SGLang `add_special_tokens`); TGI always adds
 * its tokenizer's specials, so without BOS its first token is dropped when it is `bos`.
 */
export async function tokenizeOn(
  endpoint: Endpoint,
  kind: ServerKind,
  model: string,
  text: string,
  addBos: boolean,
  bos: number | null,
): Promise<number[]> {
  const how = CAPABILITIES[kind].tokenize;
  if (how === "llama-server") {
    const answer = await callJson<{ tokens?: unknown }>(endpoint, "/tokenize", {
      body: { content: text, add_special: addBos, parse_special: false },
    });
    return ids(answer.tokens) ?? Promise.reject(badAnswer(`${endpoint.baseUrl}/tokenize`));
  }
  if (how === "vllm") {
    const answer = await callJson<{ tokens?: unknown }>(endpoint, "/tokenize", {
      body: { model, prompt: text, add_special_tokens: addBos },
    });
    return ids(answer.tokens) ?? Promise.reject(badAnswer(`${endpoint.baseUrl}/tokenize`));
  }
  if (how === "tgi") {
    const answer = await callJson<Array<{ id?: unknown }>>(endpoint, "/tokenize", {
      body: { inputs: text },
    });
    const tokens = ids(Array.isArray(answer) ? answer.map((t) => t.id) : undefined);
    if (!tokens) throw badAnswer(`${endpoint.baseUrl}/tokenize`);
    return !addBos && bos !== null && tokens[0] === bos ? tokens.slice(1) : tokens;
  }
  throw new HttpCallError(
    "UNSUPPORTED",
    `${kind} at ${endpoint.baseUrl} has no tokenize endpoint: perplexity suites need one`,
  );
}
