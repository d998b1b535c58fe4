#!/usr/bin/env node
import { HttpCallError } from "../../lib/openai/http-call.js";
import { type StreamedCompletion, streamCompletion } from "../../lib/openai/openai-stream.js";
/**
 * The http runner: speaks the runner protocol to any OpenAI-compatible server (llama-server,
 * vLLM, SGLang, TGI, Ollama). Settings come in `load` (see settings.ts); timings come from the
 * token stream. docs/http-runner.md says what each server can and cannot give.
 */
import type {
  EvaluateParams,
  EvaluateResult,
  FinishReason,
  GenerateParams,
  GenerateResult,
  InitializeResult,
  LoadParams,
  LoadResult,
  RunnerErrorCode,
  ScoreChoicesParams,
  ScoreChoicesResult,
} from "../../src/runner-client/protocol.js";
import { PROTOCOL_VERSION } from "../../src/runner-client/protocol.js";
import { checkChoiceParams } from "../shared/choice-params.js";
import { RunnerError, readPeakRss } from "../shared/serve.js";
import { type PipelinedServer, servePipelined } from "../shared/serve-pipelined.js";
import { findStop } from "../shared/stop.js";
import { runnerVersion } from "../shared/versions.js";
import { scoreChoicesOn, scorePromptTokens } from "./prompt-logprobs.js";
import { CAPABILITIES, probeServer, type ServerFacts } from "./server-kind.js";
import { type HttpSettings, readSettings, SettingsError } from "./settings.js";
import { tokenizeOn } from "./tokenize.js";

interface Loaded {
  settings: HttpSettings;
  facts: ServerFacts;
  model: string;
  bos: number | null;
  /** Fallbacks already reported once in the log. */
  noted: Set<string>;
}

let loaded: Loaded | undefined;

/** What the runner does whatever the server; `choices` joins at load for servers with prompt log-probs. */
const BASE_CAPABILITIES: InitializeResult["capabilities"] = [
  "generate",
  "tokenize",
  "evaluate",
  "memory",
];

function requireLoaded(): Loaded {
  if (!loaded) throw new RunnerError("NOT_LOADED", "no server configured: call load first");
  return loaded;
}

/** Runs a server call, turning its failure into a protocol error with a stable code. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof HttpCallError)
      throw new RunnerError(error.code as RunnerErrorCode, error.message);
    throw error;
  }
}

function note(state: Loaded, key: string, message: string): void {
  if (state.noted.has(key)) return;
  state.noted.add(key);
  process.stderr.write(`http runner: ${message}\n`);
}

async function load(params: LoadParams, server: PipelinedServer): Promise<LoadResult> {
  const started = performance.now();
  let settings: HttpSettings;
  try {
    settings = readSettings(params, process.env);
  } catch (error) {
    if (error instanceof SettingsError) throw new RunnerError("BAD_PARAMS", error.message);
    throw error;
  }
  const facts = await guarded(() => probeServer(settings.endpoint, settings.server));
  const model = settings.model ?? facts.models[0];
  if (model === undefined) {
    throw new RunnerError(
      "MODEL_NOT_FOUND",
      `${settings.endpoint.baseUrl}/v1/models lists no model`,
    );
  }
  if (settings.model !== undefined && facts.models.length > 0 && !facts.models.includes(model)) {
    process.stderr.write(
      `http runner: ${model} is not in /v1/models (${facts.models.join(", ")}); sending it as given\n`,
    );
  }
  const state: Loaded = { settings, facts, model, bos: null, noted: new Set() };
  let addBos = false;
  if (CAPABILITIES[facts.kind].tokenize !== "none") {
    // The empty text tokenized with specials is the BOS-only prefix when the model adds one.
    const prefix = await guarded(() =>
      tokenizeOn(settings.endpoint, facts.kind, model, "", true, null),
    );
    addBos = prefix.length === 1;
    state.bos = addBos ? (prefix[0] ?? null) : null;
  }
  server.setConcurrency(settings.concurrency);
  loaded = state;
  process.stderr.write(
    `http runner: ${facts.kind} at ${settings.endpoint.baseUrl}, model ${model}, ` +
      `${settings.chat ? "chat" : "completions"}, concurrency ${settings.concurrency}\n`,
  );
  return {
    backend: params.backend,
    device: `${facts.kind} at ${settings.endpoint.baseUrl}`,
    modelBytes: facts.modelBytes ?? 0,
    parameterCount: facts.parameterCount ?? 0,
    tensorTypes: {},
    loadMs: performance.now() - started,
    // The plan's size is enforced by the harness on what the server reports it used.
    contextSize: Math.min(params.contextSize, facts.contextSize ?? params.contextSize),
    ...(facts.contextSize === undefined ? {} : { allocatedContextSize: facts.contextSize }),
    vocabularySize: facts.vocabularySize ?? 0,
    addBos,
    bos: state.bos,
    // Log-likelihood suites need prompt log-probs; elsewhere they are skipped as UNSUPPORTED.
    capabilities:
      CAPABILITIES[facts.kind].promptLogprobs === "none"
        ? BASE_CAPABILITIES
        : [...BASE_CAPABILITIES, "choices"],
  };
}

/**
 * OpenAI says `stop` both for EOS and for a stop string. vLLM and SGLang tell them apart in
 * `stop_reason`; for the others a stop string is assumed when the request had any.
 */
function finishReasonOf(
  state: Loaded,
  out: StreamedCompletion,
  stop: string[],
  cut: boolean,
): FinishReason {
  if (cut) return "stop";
  if (out.finishReason === "length") return "length";
  if (out.finishReason !== "stop") return "stop";
  if (typeof out.stopReason === "string") return "stop";
  if (out.stopReason === null || typeof out.stopReason === "number") return "eos";
  if (stop.length === 0) return "eos";
  note(
    state,
    "stop-vs-eos",
    `${state.facts.kind} does not say whether a stop string or EOS ended a completion; "stop" is reported`,
  );
  return "stop";
}

async function generate(params: GenerateParams, receivedAt: number): Promise<GenerateResult> {
  const state = requireLoaded();
  const { endpoint, chat, extraBody } = state.settings;
  const out = await guarded(() =>
    streamCompletion(endpoint, {
      model: state.model,
      prompt: params.prompt,
      chat,
      maxTokens: params.maxTokens,
      temperature: params.temperature,
      stop: params.stop,
      ...(params.seed === undefined ? {} : { seed: params.seed }),
      extraBody,
    }),
  );
  const first = out.tokenTimes[0] ?? out.endedAt;
  const last = out.tokenTimes.at(-1) ?? out.endedAt;
  const at = findStop(out.text, params.stop);
  const text = at >= 0 ? out.text.slice(0, at) : out.text;
  let completionTokens = out.usage?.completionTokens;
  let promptTokens = out.usage?.promptTokens;
  if (completionTokens === undefined) {
    note(
      state,
      "no-usage",
      `${state.facts.kind} sent no usage: completion tokens are counted as stream events (an undercount where one event carries several tokens)`,
    );
    completionTokens = out.tokenTimes.length;
  }
  if (promptTokens === undefined || (out.usage && out.usage.promptTokens === 0)) {
    promptTokens = await promptTokenCount(state, params.prompt);
  }
  return {
    text,
    promptTokens,
    completionTokens,
    ttftMs: first - receivedAt,
    // The server tokenizes inside its own prefill: not separable over HTTP.
    tokenizeMs: 0,
    decodeMs: last - first,
    totalMs: performance.now() - receivedAt,
    finishReason: finishReasonOf(state, out, params.stop, at >= 0),
  };
}

/** The prompt's length from the server's tokenizer when usage lacks it (after timing). */
async function promptTokenCount(state: Loaded, prompt: string): Promise<number> {
  if (CAPABILITIES[state.facts.kind].tokenize === "none" || state.settings.chat) {
    note(
      state,
      "no-prompt-count",
      `${state.facts.kind} reported no prompt tokens and cannot tokenize: 0 is reported`,
    );
    return 0;
  }
  const { endpoint } = state.settings;
  return (
    await guarded(() =>
      tokenizeOn(endpoint, state.facts.kind, state.model, prompt, true, state.bos),
    )
  ).length;
}

async function evaluate(params: EvaluateParams): Promise<EvaluateResult> {
  const state = requireLoaded();
  const { tokens, scoreFrom } = params;
  if (!Number.isInteger(scoreFrom) || scoreFrom < 1 || scoreFrom > tokens.length) {
    throw new RunnerError("BAD_PARAMS", `scoreFrom must be in [1, ${tokens.length}]`);
  }
  const started = performance.now();
  const scored = await guarded(() =>
    scorePromptTokens(state.settings.endpoint, state.facts.kind, state.model, params),
  );
  return { scored, evalMs: performance.now() - started };
}

async function scoreChoices(params: ScoreChoicesParams): Promise<ScoreChoicesResult> {
  const state = requireLoaded();
  checkChoiceParams(params);
  const started = performance.now();
  const { choices } = await guarded(() =>
    scoreChoicesOn(state.settings.endpoint, state.facts.kind, state.model, params),
  );
  return { choices, evalMs: performance.now() - started };
}

await servePipelined((server) => ({
  initialize: () => ({
    name: "http",
    version: runnerVersion(),
    protocolVersion: PROTOCOL_VERSION,
    engine: "OpenAI-compatible HTTP server (kind known after load)",
    backends: ["auto", "cuda", "vulkan", "metal", "cpu", "webgpu"],
    capabilities: BASE_CAPABILITIES,
  }),
  load: (params) => load(params, server),
  generate,
  tokenize: async ({ text, addBos }) => {
    const state = requireLoaded();
    const { endpoint } = state.settings;
    const tokens = await guarded(() =>
      tokenizeOn(endpoint, state.facts.kind, state.model, text, addBos ?? true, state.bos),
    );
    return { tokens };
  },
  evaluate,
  scoreChoices,
  memory: async () => {
    // The server's memory is its own process's; this is the runner's.
    const peakRss = await readPeakRss();
    return { rss: process.memoryUsage().rss, ...(peakRss !== undefined ? { peakRss } : {}) };
  },
  shutdown: () => {
    loaded = undefined;
    return null;
  },
}));
process.exit(0);
