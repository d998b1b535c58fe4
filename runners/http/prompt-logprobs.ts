/**
 * `evaluate` over HTTP: log-probabilities of given prompt tokens, from the servers that return
 * them for token-id prompts — vLLM (`prompt_logprobs` on /v1/completions) and SGLang (native
 * /generate with `return_logprob`, `logprob_start_len`). The others answer UNSUPPORTED.
 */

import { callJson, type Endpoint, HttpCallError } from "../../lib/openai/http-call.js";
import type {
  EvaluateParams,
  ScoreChoicesParams,
  ScoreChoicesResult,
  ScoredToken,
} from "../../src/runner-client/protocol.js";
import { CAPABILITIES, type ServerKind } from "./server-kind.js";

type VllmLogprob = { logprob: number; rank?: number | null };
interface VllmAnswer {
  choices?: Array<{ prompt_logprobs?: Array<Record<string, VllmLogprob> | null> | null }>;
}

type SglangEntry = [number | null, number, string | null];
interface SglangAnswer {
  meta_info?: {
    input_token_logprobs?: SglangEntry[];
    input_top_logprobs?: Array<SglangEntry[] | null>;
  };
}

function missing(url: string, what: string): HttpCallError {
  return new HttpCallError("SERVER_ERROR", `${url}: the answer lacks ${what}`);
}

/** The K most likely [id, logprob], most likely first. */
function topOf(candidates: Array<[number, number]>, k: number): Array<[number, number]> {
  return [...candidates].sort((a, b) => b[1] - a[1]).slice(0, k);
}

async function viaVllm(
  endpoint: Endpoint,
  model: string,
  params: EvaluateParams,
): Promise<ScoredToken[]> {
  const { tokens, scoreFrom, topK } = params;
  const answer = await callJson<VllmAnswer>(endpoint, "/v1/completions", {
    body: { model, prompt: tokens, max_tokens: 1, temperature: 0, prompt_logprobs: topK },
  });
  const url = `${endpoint.baseUrl}/v1/completions`;
  const positions = answer.choices?.[0]?.prompt_logprobs;
  if (!positions || positions.length !== tokens.length) {
    throw missing(
      url,
      `prompt_logprobs for ${tokens.length} tokens (got ${positions?.length ?? "none"})`,
    );
  }
  const scored: ScoredToken[] = [];
  for (let i = scoreFrom; i < tokens.length; i++) {
    const entry = positions[i];
    const actual = entry?.[String(tokens[i])];
    if (!entry || !actual)
      throw missing(url, `the log-prob of token ${tokens[i]} at position ${i}`);
    const out: ScoredToken = { logprob: actual.logprob };
    if (topK > 0) {
      out.top = topOf(
        Object.entries(entry).map(([id, lp]): [number, number] => [Number(id), lp.logprob]),
        topK,
      );
    }
    scored.push(out);
  }
  return scored;
}

async function viaSglang(endpoint: Endpoint, params: EvaluateParams): Promise<ScoredToken[]> {
  const { tokens, scoreFrom, topK } = params;
  const answer = await callJson<SglangAnswer>(endpoint, "/generate", {
    body: {
      input_ids: tokens,
      sampling_params: { max_new_tokens: 0, temperature: 0 },
      return_logprob: true,
      logprob_start_len: 0,
      ...(topK > 0 ? { top_logprobs_num: topK } : {}),
    },
  });
  const url = `${endpoint.baseUrl}/generate`;
  const own = answer.meta_info?.input_token_logprobs;
  if (!own || own.length !== tokens.length) {
    throw missing(
      url,
      `input_token_logprobs for ${tokens.length} tokens (got ${own?.length ?? "none"})`,
    );
  }
  const tops = answer.meta_info?.input_top_logprobs;
  const scored: ScoredToken[] = [];
  for (let i = scoreFrom; i < tokens.length; i++) {
    const entry = own[i];
    if (!entry || entry[0] === null || entry[1] !== tokens[i]) {
      throw missing(url, `the log-prob of token ${tokens[i]} at position ${i}`);
    }
    const out: ScoredToken = { logprob: entry[0] };
    if (topK > 0) {
      const top = tops?.[i];
      if (!top) throw missing(url, `input_top_logprobs at position ${i}`);
      out.top = topOf(
        top.flatMap((t): Array<[number, number]> => (t[0] === null ? [] : [[t[1], t[0]]])),
        topK,
      );
    }
    scored.push(out);
  }
  return scored;
}

/** Scores tokens[scoreFrom..] on the server, or fails UNSUPPORTED naming what it cannot give. */
export async function scorePromptTokens(
  endpoint: Endpoint,
  kind: ServerKind,
  model: string,
  params: EvaluateParams,
): Promise<ScoredToken[]> {
  const how = CAPABILITIES[kind].promptLogprobs;
  if (how === "none") {
    throw new HttpCallError(
      "UNSUPPORTED",
      `${kind} at ${endpoint.baseUrl} cannot give perplexity or KLD: ${CAPABILITIES[kind].whyNoLogprobs}. ` +
        "Run this variant with the llama-cpp runner for those metrics.",
    );
  }
  if (params.targets) {
    throw new HttpCallError(
      "UNSUPPORTED",
      `${kind} at ${endpoint.baseUrl} cannot give KLD against a baseline: it returns its own top-K ` +
        "prompt log-probs, not those of the baseline's token ids. Perplexity works; KLD needs the llama-cpp runner.",
    );
  }
  return how === "vllm" ? viaVllm(endpoint, model, params) : viaSglang(endpoint, params);
}

/**
 * scoreChoices over prompt log-probs: one request per continuation, its prompt the context's
 * token ids followed by the continuation's, scored from the continuation on with the top-1
 * candidate per position (greedy: the continuation's token is that candidate). The server
 * evaluates the context once per choice unless it caches prefixes (vLLM's automatic prefix
 * caching, SGLang's radix cache, both on by default); the requests go out together.
 */
export async function scoreChoicesOn(
  endpoint: Endpoint,
  kind: ServerKind,
  model: string,
  params: ScoreChoicesParams,
): Promise<Omit<ScoreChoicesResult, "evalMs">> {
  if (CAPABILITIES[kind].promptLogprobs === "none") {
    throw new HttpCallError(
      "UNSUPPORTED",
      `${kind} at ${endpoint.baseUrl} cannot score choices (log-likelihood): ${CAPABILITIES[kind].whyNoLogprobs}. ` +
        "Run this suite with the llama-cpp or webgpu runner.",
    );
  }
  const { context, continuations } = params;
  const choices = await Promise.all(
    continuations.map(async (continuation) => {
      const tokens = [...context, ...continuation];
      const scored = await scorePromptTokens(endpoint, kind, model, {
        tokens,
        scoreFrom: context.length,
        topK: 1,
      });
      return {
        logprobs: scored.map((s) => s.logprob),
        greedy: scored.every((s, i) => s.top?.[0]?.[0] === continuation[i]),
      };
    }),
  );
  return { choices };
}
