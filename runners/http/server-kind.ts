/**
 * Which OpenAI-compatible server is behind a URL, what it can give the runner, and the model
 * facts it publishes. docs/http-runner.md says where each capability comes from.
 */
import { callJson, type Endpoint, HttpCallError } from "../../lib/openai/http-call.js";

export const SERVER_KINDS = ["llama-server", "vllm", "sglang", "tgi", "ollama", "openai"] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** How each server tokenizes and returns prompt log-probs; "none" where it cannot. */
export interface Capabilities {
  tokenize: "llama-server" | "vllm" | "tgi" | "none";
  /** Prompt-token log-probs for perplexity (and the baseline's top-K for KLD). */
  promptLogprobs: "vllm" | "sglang" | "none";
  /** Why a metric is missing, for error messages. */
  whyNoLogprobs: string;
}

export const CAPABILITIES: Record<ServerKind, Capabilities> = {
  "llama-server": {
    tokenize: "llama-server",
    promptLogprobs: "none",
    whyNoLogprobs:
      "its /v1/completions ignores `echo` and returns log-probs of generated tokens only (n_probs), never of the prompt",
  },
  vllm: { tokenize: "vllm", promptLogprobs: "vllm", whyNoLogprobs: "" },
  sglang: { tokenize: "vllm", promptLogprobs: "sglang", whyNoLogprobs: "" },
  tgi: {
    tokenize: "tgi",
    promptLogprobs: "none",
    whyNoLogprobs:
      "its prompt log-probs (/generate decoder_input_details) take text, not token ids, and carry no top-K",
  },
  ollama: {
    tokenize: "none",
    promptLogprobs: "none",
    whyNoLogprobs: "it returns log-probs of generated tokens only and has no echo",
  },
  openai: {
    tokenize: "none",
    promptLogprobs: "none",
    whyNoLogprobs: "a server of unknown kind; set options.server when it is vLLM or SGLang",
  },
};

export interface ServerFacts {
  kind: ServerKind;
  /** Model ids from /v1/models, first one first. */
  models: string[];
  contextSize: number | undefined;
  vocabularySize: number | undefined;
  parameterCount: number | undefined;
  modelBytes: number | undefined;
}

interface ModelList {
  data?: Array<{
    id?: string;
    owned_by?: string;
    max_model_len?: number;
    meta?: {
      n_ctx?: number;
      n_ctx_train?: number;
      n_vocab?: number;
      n_params?: number;
      size?: number;
    };
  }>;
}

/** A probe that only says whether a path answers JSON with a given field. */
async function answers(endpoint: Endpoint, path: string, field: string): Promise<boolean> {
  try {
    const body = await callJson<Record<string, unknown>>(
      { ...endpoint, retries: 0, timeoutMs: 5000 },
      path,
    );
    return typeof body === "object" && body !== null && field in body;
  } catch {
    return false;
  }
}

async function detectKind(endpoint: Endpoint, ownedBy: string | undefined): Promise<ServerKind> {
  if (ownedBy === "llamacpp") return "llama-server";
  if (ownedBy === "vllm") return "vllm";
  if (ownedBy === "sglang") return "sglang";
  if (await answers(endpoint, "/props", "default_generation_settings")) return "llama-server";
  if (await answers(endpoint, "/api/version", "version")) return "ollama";
  if (await answers(endpoint, "/info", "model_id")) return "tgi";
  return "openai";
}

/** Reads /v1/models (the server must answer it) and works out the server's kind unless given. */
export async function probeServer(
  endpoint: Endpoint,
  declared: ServerKind | undefined,
): Promise<ServerFacts> {
  let list: ModelList;
  try {
    list = await callJson<ModelList>(endpoint, "/v1/models");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof HttpCallError ? error.code : "CONNECTION_LOST";
    throw new HttpCallError(
      code,
      `no OpenAI-compatible server answers at ${endpoint.baseUrl} (${message})`,
      {
        cause: error,
      },
    );
  }
  const first = list.data?.[0];
  const kind = declared ?? (await detectKind(endpoint, first?.owned_by));
  return {
    kind,
    models: (list.data ?? []).flatMap((m) => (typeof m.id === "string" ? [m.id] : [])),
    contextSize: first?.meta?.n_ctx ?? first?.max_model_len,
    vocabularySize: first?.meta?.n_vocab,
    parameterCount: first?.meta?.n_params,
    modelBytes: first?.meta?.size,
  };
}
