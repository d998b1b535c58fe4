/**
 * The runner protocol (contract): JSON-RPC 2.0, one JSON object per line, requests on the
 * runner's stdin, responses on its stdout, the runner's log on stderr. The one file of src/
 * that runners import, so it imports nothing itself (test/architecture/boundary.test.ts);
 * results.ts holds the schemas qbench checks every result against.
 */

export const PROTOCOL_VERSION = 1;

export type Backend = "auto" | "cuda" | "vulkan" | "metal" | "cpu" | "webgpu";

export interface InitializeResult {
  name: string;
  version: string;
  protocolVersion: number;
  /** The engine under the runner, e.g. `node-llama-cpp 3.22.1 (llama.cpp b6xxx)`. */
  engine: string;
  /** Backends this runner can use on this machine. */
  backends: Backend[];
  capabilities: Array<
    | "generate"
    | "tokenize"
    | "evaluate"
    | "memory"
    | "benchmark"
    | "choices"
    | "reference"
    | "imatrix"
    | "tokenize-batch"
    | "evaluate-batch"
    | "swap-weights"
  >;
}

export interface LoadParams {
  model: string;
  backend: Backend;
  contextSize: number;
  seed: number;
  /** CPU threads for evaluation; 0 lets the engine choose. */
  threads: number;
  /** Runner-specific settings (e.g. the http runner's `baseUrl`); runners ignore what they do not know. */
  options?: Record<string, unknown>;
  /** The KV cache's element types (llama.cpp's `--cache-type-k/-v`, lower-case); default f16. */
  kvCache?: { k: string; v: string };
  /**
   * A second model (the KLD baseline) loaded beside this one with the same settings, for
   * `evaluate` with `reference: true`. Only runners whose capabilities list `reference`.
   */
  reference?: string;
}

/** Memory the engine itself says it allocated (llama.cpp's load log), each figure if known. */
export interface EngineMemory {
  /** The model's weight buffers. */
  modelBufferBytes?: number;
  /** The KV cache (K and V, every layer) at the context allocated. */
  kvBytes?: number;
  /** Cells of the KV cache (the allocated context). */
  kvCells?: number;
  /** The cache's element types as the engine names them (`f16`, `q8_0`). */
  kvTypes?: { k: string; v: string };
  /** The compute (scratch) buffers. */
  computeBytes?: number;
  /** How finely the figures are known (the engine logs MiB with two decimals). */
  resolutionBytes?: number;
}

export interface LoadResult {
  backend: Backend;
  device: string;
  modelBytes: number;
  parameterCount: number;
  tensorTypes: Record<string, number>;
  loadMs: number;
  /** The context the runner enforces: the requested size, or less where the engine has less. */
  contextSize: number;
  /** The context the engine allocated (llama.cpp rounds up; a server has its own), if known. */
  allocatedContextSize?: number;
  vocabularySize: number;
  /** Whether the model's tokenizer prepends BOS, as llama.cpp decides it. */
  addBos: boolean;
  bos: number | null;
  /**
   * How the engine was built where that matters to its speed (llama.cpp: `prebuilt binary`, as
   * node-llama-cpp ships it, or `local build`, compiled on this machine).
   */
  engineBuild?: string;
  /**
   * What scores `evaluate` (llama.cpp: `native`, the native scorer, or `node-llama-cpp (native
   * scorer …)` with the reason it is not used).
   */
  scorer?: string;
  /** The KV cache types in use, when the runner can set them. */
  kvCache?: { k: string; v: string };
  /** The engine's own figures for its buffers, where it reports them. */
  engineMemory?: EngineMemory;
  /**
   * What the runner can do with what it loaded, where that differs from initialize's list (the
   * http runner learns the server's kind at load: `choices` only for servers with prompt
   * log-probs). When present it replaces initialize's capabilities; older harnesses ignore it.
   */
  capabilities?: InitializeResult["capabilities"];
}

export interface GenerateParams {
  prompt: string;
  maxTokens: number;
  stop: string[];
  /** 0 = greedy. */
  temperature: number;
  seed?: number;
}

export type FinishReason = "stop" | "length" | "eos";

export interface GenerateResult {
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** Receipt of the request → first completion token sampled (tokenization + prefill + first step). */
  ttftMs: number;
  /** Tokenization alone, so prefill TPS can be derived. */
  tokenizeMs: number;
  /** First token → last token. */
  decodeMs: number;
  totalMs: number;
  finishReason: FinishReason;
}

export interface TokenizeParams {
  text: string;
  /** Prepend BOS when the model's tokenizer would (default true). */
  addBos?: boolean;
}

export interface TokenizeResult {
  tokens: number[];
}

/** Several texts in one request (capability `tokenize-batch`): a multiple-choice item's texts. */
export interface TokenizeBatchParams {
  texts: string[];
  /** Prepend BOS to each when the model's tokenizer would (default true). */
  addBos?: boolean;
}

export interface TokenizeBatchResult {
  /** One token list per text, in the order of `texts`. */
  batch: number[][];
}

export interface EvaluateParams {
  tokens: number[];
  /** Index of the first token whose log-probability is returned (≥ 1). */
  scoreFrom: number;
  /** How many of the most likely next tokens to return per scored position (0 = none). */
  topK: number;
  /**
   * Per scored position, extra token ids whose log-probabilities to return (e.g. the
   * baseline's top-K, for KL divergence without full-vocabulary dumps).
   */
  targets?: number[][];
  /**
   * Also evaluate the window on the `load`'s reference model: every scored token then carries
   * `kld` and `sameTop` over the whole vocabulary (and `referenceLogprob`); no topK or targets.
   */
  reference?: boolean;
}

export interface ScoredToken {
  /** log P(tokens[i] | tokens[< i]), natural log. */
  logprob: number;
  /** The top-K next-token candidates at this position as [id, logprob], most likely first. */
  top?: Array<[number, number]>;
  /** Log-probabilities of `targets[i]`, in the same order. */
  targets?: number[];
  /** With `reference`: KL(P_reference ‖ P) at this position over the whole vocabulary. */
  kld?: number;
  /** With `reference`: both models' most likely next token is the same. */
  sameTop?: boolean;
  /** With `reference`: the reference model's log P(tokens[i] | tokens[< i]). */
  referenceLogprob?: number;
}

export interface EvaluateResult {
  scored: ScoredToken[];
  evalMs: number;
}

/**
 * Several windows in one request (capability `evaluate-batch`): each is what one `evaluate`
 * would be given (no `reference`), and the runner may evaluate them side by side as parallel
 * sequences of one batch, as llama-perplexity packs n_seq chunks into a batch.
 */
export interface EvaluateBatchParams {
  windows: EvaluateParams[];
}

export interface EvaluateBatchResult {
  /** One result per window, in order, each what `evaluate` gives for it. */
  results: EvaluateResult[];
  /** The whole batch, in the runner. */
  evalMs: number;
}

/**
 * Continuations of one shared context (the choices of a multiple-choice item): the context is
 * evaluated once and each continuation goes on from it, so n choices cost one context, not n.
 */
export interface ScoreChoicesParams {
  /** The shared prefix, BOS included where the caller wants one (≥ 1 token). */
  context: number[];
  /** Each continuation's tokens (≥ 1 each); its first token is scored after the context. */
  continuations: number[][];
}

export interface ChoiceScore {
  /** log P(continuation[i] | context, continuation[< i]), natural log, one per token. */
  logprobs: number[];
  /** Whether every continuation token is the most likely one at its position (lm-eval's is_greedy). */
  greedy: boolean;
}

export interface ScoreChoicesResult {
  choices: ChoiceScore[];
  evalMs: number;
}

/**
 * llama-imatrix's importance matrix, collected in the runner over calls: each call evaluates its
 * chunks (each from position 0, a fresh context) and adds, per weight matrix of the layers, the
 * squares of its input's columns over every token; the sums stay in the runner until `read`.
 */
export interface CollectImatrixParams {
  /** Token chunks, BOS already in place where wanted (≥ 1 token each, ≤ the loaded context). */
  chunks: number[][];
  /** Discard what was collected before this call (the first call after `load` starts afresh anyway). */
  reset?: boolean;
  /** Return the sums so far, this call's chunks included, and end the collection. */
  read?: boolean;
  /**
   * Round each F16 matmul's input to f16 (round to nearest even) before the product, after it
   * is summed, as ggml's CPU backend does, so the activations match llama-imatrix's. Fixed by
   * the call that opens a collection (absent: false, f32 inputs); a continuing call that says
   * otherwise is refused (BAD_PARAMS).
   */
  f16Inputs?: boolean;
}

/** One weight matrix's importance data, as llama-imatrix's `<name>.in_sum2` and `<name>.counts`. */
export interface ImatrixMatrix {
  /** The weight tensor's name in the model file (`blk.0.attn_q.weight`). */
  name: string;
  /** Per input column (per expert, expert-major, when counts has one entry per expert): Σ x². */
  sums: number[];
  /** Tokens summed: one entry for a dense matrix, one per expert for a merged-experts tensor. */
  counts: number[];
}

export interface CollectImatrixResult {
  /** Tokens evaluated in this collection so far. */
  tokens: number;
  evalMs: number;
  /** With `read`: every matrix, sorted by name. */
  matrices?: ImatrixMatrix[];
}

/** A llama-bench-style fixed shape: random prompt tokens, then greedy decode steps. */
export interface BenchmarkParams {
  /** Prompt tokens processed as one prefill (llama-bench -p). */
  promptTokens: number;
  /** Tokens generated one at a time after the prompt (llama-bench -n). */
  generateTokens: number;
  /** Tokens already in the context before the timed work (llama-bench -d). */
  depth: number;
  seed: number;
}

export interface BenchmarkResult {
  prefillMs: number;
  decodeMs: number;
  promptTokens: number;
  generatedTokens: number;
}

export interface MemoryResult {
  /** Engine-reported device memory; absent when the engine has none to report. */
  device?: { used: number; total: number };
  rss: number;
  /** VmHWM from /proc/self/status where available. */
  peakRss?: number;
}

/**
 * Replaces some weights of the loaded model with those of another file of the same model
 * (capability `swap-weights`): the same architecture, hyper-parameters, tokenizer and tensor
 * names and shapes, other types or values allowed (a variant quantized from the same source).
 * Only the named tensors are read from `model` and uploaded; the rest stay as loaded. After it,
 * the runner evaluates as if `model` had been loaded (the KV cache starts empty).
 */
export interface SwapWeightsParams {
  model: string;
  /** The tensors that differ from what is loaded: each is read from `model`. */
  tensors: string[];
}

export interface SwapWeightsResult {
  /** Tensors read from `model` and uploaded. */
  swapped: number;
  /** Their bytes in `model`. */
  bytes: number;
  swapMs: number;
}

export interface Methods {
  initialize: { params: Record<string, never>; result: InitializeResult };
  load: { params: LoadParams; result: LoadResult };
  generate: { params: GenerateParams; result: GenerateResult };
  tokenize: { params: TokenizeParams; result: TokenizeResult };
  tokenizeBatch: { params: TokenizeBatchParams; result: TokenizeBatchResult };
  evaluate: { params: EvaluateParams; result: EvaluateResult };
  evaluateBatch: { params: EvaluateBatchParams; result: EvaluateBatchResult };
  memory: { params: Record<string, never>; result: MemoryResult };
  benchmark: { params: BenchmarkParams; result: BenchmarkResult };
  scoreChoices: { params: ScoreChoicesParams; result: ScoreChoicesResult };
  collectImatrix: { params: CollectImatrixParams; result: CollectImatrixResult };
  swapWeights: { params: SwapWeightsParams; result: SwapWeightsResult };
  shutdown: { params: Record<string, never>; result: null };
}

export type MethodName = keyof Methods;

/** Stable `data.code` values of JSON-RPC errors. */
export type RunnerErrorCode =
  | "MODEL_NOT_FOUND"
  | "BAD_MODEL"
  | "OUT_OF_MEMORY"
  | "CONTEXT_OVERFLOW"
  | "NOT_LOADED"
  | "BAD_PARAMS"
  | "BACKEND_UNAVAILABLE"
  /** The engine or server behind the runner cannot do this (e.g. prompt log-probs over HTTP). */
  | "UNSUPPORTED"
  /** The load's reference model tokenizes a text otherwise than the model (exact KLD needs the same tokens). */
  | "TOKENIZATION_MISMATCH"
  /** A server answered with an error status (after any retries). */
  | "SERVER_ERROR"
  /** A server refused or dropped the connection, e.g. mid-stream. */
  | "CONNECTION_LOST"
  /** A server did not finish one request within the runner's own per-request limit. */
  | "REQUEST_TIMEOUT"
  | "INTERNAL";

export interface RpcRequest {
  jsonrpc: "2.0";
  id: number;
  method: string;
  params?: unknown;
}

export interface RpcError {
  code: number;
  message: string;
  data?: { code: RunnerErrorCode; [key: string]: unknown };
}

export type RpcResponse =
  | { jsonrpc: "2.0"; id: number; result: unknown }
  | { jsonrpc: "2.0"; id: number | null; error: RpcError };
