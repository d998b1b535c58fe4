#!/usr/bin/env node
/**
 * The WebGPU runner: speaks the runner protocol over stdio and runs GGUF Llama models through
 * our own WGSL kernels on Dawn (npm `webgpu`), on a real GPU or Mesa's llvmpipe.
 */
import { existsSync, statSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { totalmem } from "node:os";
import { readGguf } from "../../lib/gguf/reader.js";
import type { InitializeResult, LoadParams, LoadResult } from "../../src/runner-client/protocol.js";
import { PROTOCOL_VERSION } from "../../src/runner-client/protocol.js";
import { type Handlers, messageOf, RunnerError, readPeakRss, serve } from "../shared/serve.js";
import { runnerVersion } from "../shared/versions.js";
import { benchmark } from "./benchmark.js";
import { BufferLimitError } from "./buffers.js";
import { scoreChoices } from "./choices.js";
import { acquireGpu, backendOrder, type Gpu, NoAdapterError } from "./device.js";
import { evaluate } from "./evaluate.js";
import { generate } from "./generate.js";
import { LlamaGraph } from "./graph.js";
import { collectImatrix } from "./imatrix.js";
import {
  describeModel,
  type LlamaModel,
  modelTensors,
  UnsupportedModelError,
} from "./model-config.js";
import type { Session } from "./session.js";
import { swapWeights } from "./swap.js";
import { Tokenizer } from "./tokenizer.js";
import { engineVersion } from "./versions.js";

/** Tokens per forward call: the scratch buffers hold this many, longer inputs go in chunks. */
const MAX_BATCH = 512;

let gpu: Promise<Gpu> | undefined;
let loaded: Session | undefined;

function getGpu(): Promise<Gpu> {
  gpu ??= acquireGpu(backendOrder(process.env.QBENCH_WEBGPU_BACKEND));
  return gpu;
}

function requireLoaded(): Session {
  if (!loaded) throw new RunnerError("NOT_LOADED", "no model loaded: call load first");
  return loaded;
}

async function initialize(): Promise<InitializeResult> {
  const base = {
    name: "webgpu",
    version: runnerVersion(),
    protocolVersion: PROTOCOL_VERSION,
    capabilities: [
      "generate",
      "tokenize",
      "evaluate",
      "memory",
      "imatrix",
      "choices",
      "swap-weights",
    ] as InitializeResult["capabilities"],
  };
  try {
    const found = await getGpu();
    return { ...base, engine: `${engineVersion()} on ${found.adapterName}`, backends: ["webgpu"] };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ...base, engine: `${engineVersion()}; ${why}`, backends: [] };
  }
}

function checkBindingLimits(found: Gpu, model: LlamaModel): void {
  const limit = Math.min(
    found.device.limits.maxStorageBufferBindingSize,
    found.device.limits.maxBufferSize,
  );
  // Matrices over the limit are split at rows (weights.ts); a row is the least a part holds.
  const rowBytes = (t: { byteSize: number; dims: readonly number[] }) =>
    t.byteSize / (t.dims[1] ?? 1);
  const tooBig = modelTensors(model).find((t) => rowBytes(t) + 4 > limit);
  if (tooBig) {
    throw new RunnerError(
      "OUT_OF_MEMORY",
      `tensor ${tooBig.name}: one row (${rowBytes(tooBig)} bytes) exceeds this adapter's ${limit}-byte buffer binding limit`,
    );
  }
}

async function load(params: LoadParams): Promise<LoadResult> {
  const started = performance.now();
  if (params.backend !== "webgpu" && params.backend !== "auto") {
    throw new RunnerError(
      "BACKEND_UNAVAILABLE",
      `the WebGPU runner runs backend webgpu, not ${params.backend}`,
    );
  }
  if (!existsSync(params.model)) {
    throw new RunnerError("MODEL_NOT_FOUND", `model file not found: ${params.model}`);
  }
  let model: LlamaModel;
  let file: Awaited<ReturnType<typeof readGguf>>;
  try {
    file = await readGguf(params.model);
    model = describeModel(file);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const code = error instanceof UnsupportedModelError ? error.code : "BAD_MODEL";
    throw new RunnerError(code, `cannot run ${params.model} on WebGPU: ${why}`, { cause: error });
  }
  let found: Gpu;
  try {
    found = await getGpu();
  } catch (error) {
    const why = error instanceof NoAdapterError ? error.message : String(error);
    throw new RunnerError("BACKEND_UNAVAILABLE", why);
  }
  checkBindingLimits(found, model);
  await unload();
  const contextSize = params.contextSize > 0 ? params.contextSize : model.config.nCtxTrain;
  const tokenizer = await Tokenizer.open(params.model);
  let fh: FileHandle | undefined;
  let graph: LlamaGraph;
  try {
    fh = await open(params.model, "r");
    graph = await LlamaGraph.load(found, model, fh, file.dataOffset, {
      contextSize,
      maxBatch: Math.min(MAX_BATCH, contextSize),
    });
  } catch (error) {
    await tokenizer.dispose();
    const oom = (error as { oom?: boolean }).oom === true || error instanceof BufferLimitError;
    throw new RunnerError(
      oom ? "OUT_OF_MEMORY" : "INTERNAL",
      `loading ${params.model} onto ${found.adapterName}: ${messageOf(error)}`,
      { cause: error },
    );
  } finally {
    await fh?.close();
  }
  loaded = {
    graph,
    tokenizer,
    vocab: model.config.nVocab,
    file: { path: params.model, model, tensors: file.tensors },
  };
  const tensorTypes: Record<string, number> = {};
  let parameterCount = 0;
  for (const t of file.tensors) {
    tensorTypes[t.typeName] = (tensorTypes[t.typeName] ?? 0) + 1;
    parameterCount += t.elementCount;
  }
  return {
    backend: "webgpu",
    device: found.adapterName,
    modelBytes: statSync(params.model).size,
    parameterCount,
    tensorTypes,
    loadMs: performance.now() - started,
    contextSize,
    allocatedContextSize: contextSize,
    vocabularySize: model.config.nVocab,
    addBos: tokenizer.addBos,
    bos: tokenizer.bos,
  };
}

async function unload(): Promise<void> {
  if (!loaded) return;
  loaded.graph.dispose();
  await loaded.tokenizer.dispose();
  loaded = undefined;
}

const handlers: Handlers = {
  initialize,
  load,
  generate: (params, receivedAt) => generate(requireLoaded(), params, receivedAt),
  tokenize: ({ text, addBos }) => {
    const state = requireLoaded();
    return { tokens: state.tokenizer.tokenize(text, addBos ?? true) };
  },
  evaluate: (params) => evaluate(requireLoaded(), params),
  scoreChoices: (params) => scoreChoices(requireLoaded(), params),
  benchmark: (params) => benchmark(requireLoaded(), params),
  collectImatrix: (params) => collectImatrix(requireLoaded(), params),
  swapWeights: async (params) => {
    const state = requireLoaded();
    const found = await getGpu();
    return swapWeights(state, params, (model) => checkBindingLimits(found, model));
  },
  memory: async () => {
    const found = loaded ? await getGpu() : undefined;
    const peakRss = await readPeakRss();
    return {
      // WebGPU exposes no device memory size; a software adapter's memory is the host's.
      ...(loaded && found
        ? { device: { used: loaded.graph.pool.liveBytes, total: found.software ? totalmem() : 0 } }
        : {}),
      rss: process.memoryUsage().rss,
      ...(peakRss !== undefined ? { peakRss } : {}),
    };
  },
  shutdown: async () => {
    await unload();
    return null;
  },
};

await serve(handlers);
process.exit(0);
