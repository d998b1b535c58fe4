#!/usr/bin/env node
/**
 * The llama.cpp runner: speaks the runner protocol over stdio on top of node-llama-cpp's
 * prebuilt llama.cpp (CUDA / Vulkan / Metal / CPU).
 */
import { existsSync, statSync } from "node:fs";
import { cpus } from "node:os";
import {
  GgmlType,
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import pLimit from "p-limit";
import type {
  Backend,
  GenerateParams,
  GenerateResult,
  LoadParams,
  LoadResult,
} from "../../src/runner-client/protocol.js";
import { PROTOCOL_VERSION } from "../../src/runner-client/protocol.js";
import { generateTimed } from "../shared/generate.js";
import { type Handlers, messageOf, RunnerError, readPeakRss } from "../shared/serve.js";
import { servePipelined } from "../shared/serve-pipelined.js";
import { runnerVersion } from "../shared/versions.js";
import { benchmark } from "./benchmark.js";
import { type ChoicesState, scoreChoices } from "./choices.js";
import { EngineMemoryLog } from "./engine-memory.js";
import { type BatchState, evaluate, evaluateBatch } from "./evaluate.js";
import { NativeScorer, type SharedCache } from "./native-scorer.js";
import { engineVersion } from "./versions.js";

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaContextSequence;
  /** The KLD baseline loaded beside the model (`load`'s `reference`). */
  reference?: {
    model: LlamaModel;
    context: LlamaContext;
    sequence: LlamaContextSequence;
    /** Its native scorer (exact KLD), made where the model's is. */
    scorer?: NativeScorer | undefined;
  };
  /** scoreChoices' own multi-sequence context, made at its first call (the KV of one sequence per choice). */
  choices: ChoicesState;
  /** evaluateBatch's own multi-sequence context, made at its first call. */
  batch: BatchState;
  /** The native scorer beside `context`, when it could be made (else `evaluate` uses node-llama-cpp's JS path). */
  scorer?: NativeScorer;
  addBos: boolean;
  contextSize: number;
  seed: number;
}

let loaded: Loaded | undefined;
const engineLog = new EngineMemoryLog();
/** scoreChoices calls run one at a time, in arrival order: they share one context or scorer. */
const choicesLock = pLimit(1);
/** The engine's last error line: node-llama-cpp's own errors do not carry llama.cpp's reason. */
let lastEngineError = "";

function requireLoaded(): Loaded {
  if (!loaded) throw new RunnerError("NOT_LOADED", "no model loaded: call load first");
  return loaded;
}

function gpuOption(backend: Backend): false | "auto" | "cuda" | "vulkan" | "metal" {
  if (backend === "cpu") return false;
  if (backend === "auto") return "auto";
  if (backend === "webgpu") {
    throw new RunnerError("BACKEND_UNAVAILABLE", "the llama.cpp runner has no webgpu backend");
  }
  return backend;
}

function tensorHistogram(model: LlamaModel): { types: Record<string, number>; params: number } {
  const types: Record<string, number> = {};
  let params = 0;
  for (const tensor of model.fileInfo.tensorInfo ?? []) {
    const name = GgmlType[tensor.ggmlType] ?? `type${tensor.ggmlType}`;
    types[name] = (types[name] ?? 0) + 1;
    params += tensor.dimensions.reduce<number>((n, d) => n * Number(d), 1);
  }
  return { types, params };
}

async function load(params: LoadParams): Promise<LoadResult> {
  const started = performance.now();
  if (!existsSync(params.model)) {
    throw new RunnerError("MODEL_NOT_FOUND", `model file not found: ${params.model}`);
  }
  let llama: Llama;
  try {
    llama = await getLlama({
      gpu: gpuOption(params.backend),
      build: "never",
      ...(params.threads > 0 ? { maxThreads: params.threads } : {}),
      // Info lines carry the engine's buffer sizes; only warnings and errors go to the log.
      logLevel: LlamaLogLevel.info,
      logger: (level, message) => {
        engineLog.observe(message);
        if (level === LlamaLogLevel.error) lastEngineError = message.trim();
        if (level !== LlamaLogLevel.info && level !== LlamaLogLevel.debug) {
          process.stderr.write(`[llama.cpp ${level}] ${message}\n`);
        }
      },
    });
  } catch (error) {
    throw new RunnerError(
      "BACKEND_UNAVAILABLE",
      `backend ${params.backend} unavailable: ${messageOf(error)}`,
      { cause: error },
    );
  }
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: params.model,
      ...(params.backend === "cpu" ? { gpuLayers: 0 } : {}),
    });
  } catch (error) {
    throw new RunnerError("BAD_MODEL", `cannot load ${params.model}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const kvCache = params.kvCache ?? { k: "f16", v: "f16" };
  const contextOptions = {
    contextSize: params.contextSize,
    batchSize: params.contextSize,
    sequences: 1,
    experimentalKvCacheKeyType: kvCache.k.toUpperCase() as "F16",
    experimentalKvCacheValueType: kvCache.v.toUpperCase() as "F16",
    ...(params.threads > 0 ? { threads: params.threads } : {}),
  };
  engineLog.resetContext();
  const context = await createContext(model, contextOptions, kvCache);
  const engineMemory = await engineLog.settled();
  const reference = params.reference
    ? await loadReference(llama, params, contextOptions, kvCache)
    : undefined;
  const addBos = model.tokens.shouldPrependBosToken && model.tokens.bos != null;
  // llama.cpp rounds the context up (to 256 at least); the plan's size is the one enforced.
  const contextSize = Math.min(params.contextSize, context.contextSize);
  const native = NativeScorer.create(llama, model, context, process.env);
  if (reference && native.scorer) {
    reference.scorer = NativeScorer.create(
      llama,
      reference.model,
      reference.context,
      process.env,
    ).scorer;
  }
  const batchContext = (sequences: number, size: number) =>
    createContext(
      model,
      { ...contextOptions, contextSize: size, batchSize: size * sequences, sequences },
      kvCache,
    );
  loaded = {
    llama,
    model,
    context,
    sequence: context.getSequence(),
    ...(reference ? { reference } : {}),
    ...(native.scorer ? { scorer: native.scorer } : {}),
    choices: {
      contextSize,
      // Where the model's native scorer could be made: one with the main context's settings.
      ...(native.scorer
        ? {
            createScorer: (cache: SharedCache) =>
              NativeScorer.create(llama, model, context, process.env, cache).scorer,
          }
        : {}),
      createContext: (sequences, size) =>
        createContext(
          model,
          { ...contextOptions, contextSize: size, batchSize: size, sequences },
          kvCache,
        ),
    },
    batch: {
      createContext: batchContext,
      // From a context made as the JS path's pool is (then freed): the same parameters.
      createScorer: async (sequences, size) => {
        const pool = await batchContext(sequences, size);
        try {
          return NativeScorer.create(llama, model, pool, process.env).scorer;
        } finally {
          await pool.dispose();
        }
      },
    },
    addBos,
    contextSize,
    seed: params.seed,
  };
  const { types, params: parameterCount } = tensorHistogram(model);
  const device =
    llama.gpu === false
      ? (cpus()[0]?.model ?? "cpu")
      : (await llama.getGpuDeviceNames()).join(", ") || String(llama.gpu);
  return {
    backend: llama.gpu === false ? "cpu" : llama.gpu,
    device,
    modelBytes: statSync(params.model).size,
    parameterCount,
    tensorTypes: types,
    loadMs: performance.now() - started,
    contextSize,
    allocatedContextSize: context.contextSize,
    vocabularySize: model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0,
    addBos,
    bos: model.tokens.bos,
    engineBuild: llama.buildType === "localBuild" ? "local build" : "prebuilt binary",
    scorer: scorerLine(native, reference),
    kvCache,
    engineMemory,
  };
}

/** Which path scores, for load's `scorer`: the model's, and its reference's where one is loaded. */
function scorerLine(
  native: { scorer?: NativeScorer | undefined; reason?: string },
  reference: Loaded["reference"],
): string {
  if (!native.scorer) return `node-llama-cpp (native scorer ${native.reason})`;
  if (!reference) return "native";
  return reference.scorer
    ? "native (its reference too)"
    : "native (its reference through node-llama-cpp)";
}

/** The KLD baseline, loaded with the model's settings (not counted in the load's engine memory). */
async function loadReference(
  llama: Llama,
  params: LoadParams,
  contextOptions: Parameters<LlamaModel["createContext"]>[0] & object,
  kvCache: { k: string; v: string },
): Promise<NonNullable<Loaded["reference"]>> {
  const path = params.reference as string;
  if (!existsSync(path)) {
    throw new RunnerError("MODEL_NOT_FOUND", `reference model file not found: ${path}`);
  }
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: path,
      ...(params.backend === "cpu" ? { gpuLayers: 0 } : {}),
    });
  } catch (error) {
    throw new RunnerError("BAD_MODEL", `cannot load reference ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const context = await createContext(model, contextOptions, kvCache);
  return { model, context, sequence: context.getSequence() };
}

/**
 * Flash attention, as llama.cpp's own tools default to ("auto" → on where supported): the same
 * kernels llama-bench and llama-perplexity measure, and faster; off where unsupported — except
 * that a quantized V cache needs it, so there it is required, never silently dropped.
 */
async function createContext(
  model: LlamaModel,
  options: Parameters<LlamaModel["createContext"]>[0] & object,
  kvCache: { k: string; v: string },
): Promise<LlamaContext> {
  const quantizedV = !["f32", "f16", "bf16"].includes(kvCache.v);
  if (quantizedV && !model.flashAttentionSupported) {
    throw new RunnerError(
      "UNSUPPORTED",
      `a ${kvCache.v} V cache needs flash attention, which llama.cpp does not support for this model here`,
    );
  }
  lastEngineError = "";
  try {
    return await model.createContext({ ...options, flashAttention: true });
  } catch (error) {
    if (quantizedV || kvCache.k !== "f16") {
      const reason = lastEngineError.replace(/^llama_init_from_model: /, "");
      throw new RunnerError(
        "UNSUPPORTED",
        `cannot create a context with a ${kvCache.k} K / ${kvCache.v} V cache: ${reason || messageOf(error)}`,
        { cause: error },
      );
    }
    return await model.createContext(options);
  }
}

/**
 * The text's tokens. With a reference loaded (exact KLD, evaluated on these very tokens), the
 * reference must tokenize the text the same way: TOKENIZATION_MISMATCH names the first difference.
 */
function tokenize(state: Loaded, text: string, addBos: boolean): Token[] {
  const tokens = state.model.tokenize(text, false);
  if (state.reference) {
    const theirs = state.reference.model.tokenize(text, false);
    const at = tokens.findIndex((token, i) => token !== theirs[i]);
    if (at >= 0 || theirs.length !== tokens.length) {
      const where = at >= 0 ? at : Math.min(tokens.length, theirs.length);
      throw new RunnerError(
        "TOKENIZATION_MISMATCH",
        `the reference model tokenizes the text differently (token ${where}: ${tokens[where] ?? "end"} here, ${theirs[where] ?? "end"} there): KLD needs the same tokens`,
      );
    }
  }
  const bos = state.model.tokens.bos;
  return addBos && state.addBos && bos != null ? [bos, ...tokens] : tokens;
}

function generate(params: GenerateParams, receivedAt: number): Promise<GenerateResult> {
  const state = requireLoaded();
  const { model, sequence, scorer } = state;
  const options = { temperature: params.temperature, seed: params.seed ?? state.seed };
  // Greedy decoding through the native scorer where it is built: each step one decode and the
  // argmax in C++, only the token id crossing to JavaScript (node-llama-cpp's sampler otherwise).
  const greedy = scorer && params.temperature === 0 ? scorer : undefined;
  return generateTimed<Token>(
    {
      contextSize: state.contextSize,
      tokenize: (text) => tokenize(state, text, true),
      decode: greedy
        ? async function* (prompt) {
            let [token] = await greedy.greedy(prompt, true);
            for (;;) {
              yield token as Token;
              [token] = await greedy.greedy([token as number], false);
            }
          }
        : async function* (prompt) {
            await sequence.clearHistory();
            yield* sequence.evaluate(prompt, options);
          },
      isEndOfGeneration: (token) => model.isEogToken(token),
      detokenize: (completion, prompt) => model.detokenize(completion, false, prompt),
    },
    params,
    receivedAt,
  );
}

const handlers: Handlers = {
  initialize: () => ({
    name: "llama-cpp",
    version: runnerVersion(),
    protocolVersion: PROTOCOL_VERSION,
    engine: engineVersion(),
    backends: ["auto", "cpu", "cuda", "vulkan", "metal"],
    capabilities: [
      "generate",
      "tokenize",
      "evaluate",
      "memory",
      "benchmark",
      "choices",
      "reference",
      "tokenize-batch",
      "evaluate-batch",
    ],
  }),
  load,
  scoreChoices: (params) => {
    const { choices } = requireLoaded();
    return choicesLock(() => scoreChoices(choices, params));
  },
  benchmark: (params) => benchmark(requireLoaded(), params),
  generate,
  tokenize: ({ text, addBos }) => ({ tokens: tokenize(requireLoaded(), text, addBos ?? true) }),
  tokenizeBatch: ({ texts, addBos }) => {
    const state = requireLoaded();
    if (!Array.isArray(texts) || texts.some((text) => typeof text !== "string")) {
      throw new RunnerError("BAD_PARAMS", "texts must be a list of strings");
    }
    return { batch: texts.map((text) => tokenize(state, text, addBos ?? true)) };
  },
  evaluate: (params) => {
    const state = requireLoaded();
    return evaluate(
      {
        ...state,
        reference: state.reference?.sequence,
        referenceScorer: state.reference?.scorer,
      },
      params,
    );
  },
  evaluateBatch: (params) => {
    const state = requireLoaded();
    return evaluateBatch({ ...state, reference: undefined }, state.batch, params);
  },
  memory: async () => {
    const vram =
      loaded && loaded.llama.gpu !== false ? await loaded.llama.getVramState() : undefined;
    const peakRss = await readPeakRss();
    return {
      ...(vram ? { device: { used: vram.used, total: vram.total } } : {}),
      rss: process.memoryUsage().rss,
      ...(peakRss !== undefined ? { peakRss } : {}),
    };
  },
  shutdown: async () => {
    await loaded?.scorer?.dispose();
    await loaded?.reference?.scorer?.dispose();
    await loaded?.batch.scorerPool?.scorer.dispose();
    await loaded?.choices.scorerPool?.scorer.dispose();
    await loaded?.choices.pool?.context.dispose();
    await loaded?.batch.pool?.context.dispose();
    await loaded?.reference?.context.dispose();
    await loaded?.reference?.model.dispose();
    await loaded?.context.dispose();
    await loaded?.model.dispose();
    await loaded?.llama.dispose();
    loaded = undefined;
    return null;
  },
};

// scoreChoices requests overlap one another (each waits for the one before it in the runner's
// choices lock, so they still run one at a time): the next item's request is parsed and its reply
// written while the engine scores, and a client with two items in flight never leaves the engine
// idle. Every other method runs alone, in arrival order, as `serve` runs them.
await servePipelined(() => handlers, {
  exclusive: (method) => method !== "scoreChoices",
  concurrency: 2,
});
process.exit(0);
