/**
 * Schemas of every runner result, checked at the edge (client.ts) so that a runner in any
 * language that answers with a malformed result fails with BAD_RUNNER_RESPONSE naming the
 * method and field, never with a TypeError deep inside scoring. The types stay in protocol.ts;
 * a compile-time check below keeps each schema equal to its type.
 *
 * Large arrays (evaluate's scored positions, tokenize's ids) are checked by one plain loop
 * each, not by a zod schema per element: docs/runner-protocol.md "Response validation" gives
 * the cost.
 */
import { z } from "zod";
import type {
  ChoiceScore,
  CollectImatrixParams,
  EvaluateBatchParams,
  EvaluateBatchResult as EvaluateBatchResultType,
  EvaluateParams,
  EvaluateResult as EvaluateResultType,
  ImatrixMatrix,
  MethodName,
  Methods,
  ScoreChoicesParams,
  ScoreChoicesResult as ScoreChoicesResultType,
  ScoredToken,
  TokenizeBatchParams,
  TokenizeBatchResult as TokenizeBatchResultType,
} from "./protocol.js";

const Backend = z.enum(["auto", "cuda", "vulkan", "metal", "cpu", "webgpu"]);
const Capability = z.enum([
  "generate",
  "tokenize",
  "evaluate",
  "memory",
  "benchmark",
  "choices",
  "reference",
  "imatrix",
  "tokenize-batch",
  "evaluate-batch",
  "swap-weights",
]);

export const InitializeResult = z.object({
  name: z.string(),
  version: z.string(),
  protocolVersion: z.number(),
  engine: z.string(),
  backends: z.array(Backend),
  capabilities: z.array(Capability),
});

export const LoadResult = z.object({
  backend: Backend,
  device: z.string(),
  modelBytes: z.number(),
  parameterCount: z.number(),
  tensorTypes: z.record(z.string(), z.number()),
  loadMs: z.number(),
  contextSize: z.number().int().positive(),
  allocatedContextSize: z.number().int().positive().optional(),
  vocabularySize: z.number().int().nonnegative(),
  addBos: z.boolean(),
  bos: z.number().int().nullable(),
  engineBuild: z.string().optional(),
  scorer: z.string().optional(),
  kvCache: z.object({ k: z.string(), v: z.string() }).optional(),
  engineMemory: z
    .object({
      modelBufferBytes: z.number().nonnegative().optional(),
      kvBytes: z.number().nonnegative().optional(),
      kvCells: z.number().int().nonnegative().optional(),
      kvTypes: z.object({ k: z.string(), v: z.string() }).optional(),
      computeBytes: z.number().nonnegative().optional(),
      resolutionBytes: z.number().nonnegative().optional(),
    })
    .optional(),
  capabilities: z.array(Capability).optional(),
});

export const GenerateResult = z.object({
  text: z.string(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  ttftMs: z.number(),
  tokenizeMs: z.number(),
  decodeMs: z.number(),
  totalMs: z.number(),
  finishReason: z.enum(["stop", "length", "eos"]),
});

/** A problem one of the loops below found: where, and what. */
interface Flaw {
  path: Array<string | number>;
  message: string;
}

const typeName = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "array" : typeof value;

const isTokenId = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 0;

/** The first entry of `tokens` that is not a token id. */
function tokenIdsFlaw(tokens: unknown): Flaw | undefined {
  if (!Array.isArray(tokens))
    return { path: [], message: `expected array, got ${typeName(tokens)}` };
  for (let i = 0; i < tokens.length; i++) {
    if (!isTokenId(tokens[i])) {
      return {
        path: [i],
        message: `expected a token id (an integer ≥ 0), got ${String(tokens[i])}`,
      };
    }
  }
  return undefined;
}

/** Adds a loop's flaw to zod's issues, under the field the loop checked. */
function asIssue(flaw: Flaw | undefined, ctx: z.RefinementCtx): void {
  if (flaw) ctx.addIssue({ code: "custom", message: flaw.message, path: flaw.path });
}

const TokenIds = z
  .custom<number[]>()
  .superRefine((tokens, ctx) => asIssue(tokenIdsFlaw(tokens), ctx));

export const TokenizeResult = z.object({ tokens: TokenIds });

/** The first malformed id of tokenizeBatch's lists. */
function tokenListsFlaw(batch: unknown): Flaw | undefined {
  if (!Array.isArray(batch)) return { path: [], message: `expected array, got ${typeName(batch)}` };
  for (let i = 0; i < batch.length; i++) {
    const flaw = tokenIdsFlaw(batch[i]);
    if (flaw) return { path: [i, ...flaw.path], message: flaw.message };
  }
  return undefined;
}

export const TokenizeBatchResult = z.object({
  batch: z.custom<number[][]>().superRefine((batch, ctx) => asIssue(tokenListsFlaw(batch), ctx)),
});

/** The first flaw of one scored position: logprob a number, top [id, logprob] pairs, targets numbers or null. */
function scoredTokenFlaw(entry: unknown): Flaw | undefined {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    return { path: [], message: `expected object, got ${typeName(entry)}` };
  }
  const { logprob, top, targets, kld, sameTop, referenceLogprob } = entry as Record<
    string,
    unknown
  >;
  for (const [key, value] of [
    ["logprob", logprob],
    ["kld", kld ?? 0],
    ["referenceLogprob", referenceLogprob ?? 0],
  ] as const) {
    if (typeof value !== "number") {
      return { path: [key], message: `expected number, got ${typeName(value)}` };
    }
  }
  if (sameTop !== undefined && typeof sameTop !== "boolean") {
    return { path: ["sameTop"], message: `expected boolean, got ${typeName(sameTop)}` };
  }
  if (top !== undefined) {
    if (!Array.isArray(top))
      return { path: ["top"], message: `expected array, got ${typeName(top)}` };
    for (let k = 0; k < top.length; k++) {
      const pair: unknown = top[k];
      if (!Array.isArray(pair) || pair.length !== 2) {
        return { path: ["top", k], message: "expected an [id, logprob] pair" };
      }
      if (!isTokenId(pair[0])) {
        return { path: ["top", k, 0], message: `expected a token id, got ${String(pair[0])}` };
      }
      if (typeof pair[1] !== "number") {
        return { path: ["top", k, 1], message: `expected number, got ${typeName(pair[1])}` };
      }
    }
  }
  if (targets !== undefined) {
    if (!Array.isArray(targets)) {
      return { path: ["targets"], message: `expected array, got ${typeName(targets)}` };
    }
    for (let j = 0; j < targets.length; j++) {
      // JSON has no NaN: a target the engine could not score (NaN) arrives as null.
      if (typeof targets[j] !== "number" && targets[j] !== null) {
        return { path: ["targets", j], message: `expected number, got ${typeName(targets[j])}` };
      }
    }
  }
  return undefined;
}

/** The first malformed position of `scored`, by one loop over plain type checks. */
function scoredFlaw(scored: unknown): Flaw | undefined {
  if (!Array.isArray(scored))
    return { path: [], message: `expected array, got ${typeName(scored)}` };
  for (let i = 0; i < scored.length; i++) {
    const flaw = scoredTokenFlaw(scored[i]);
    if (flaw) return { path: [i, ...flaw.path], message: flaw.message };
  }
  return undefined;
}

const ScoredTokens = z
  .custom<ScoredToken[]>()
  .superRefine((scored, ctx) => asIssue(scoredFlaw(scored), ctx));

export const EvaluateResult = z.object({ scored: ScoredTokens, evalMs: z.number() });

export const EvaluateBatchResult = z.object({
  results: z.array(EvaluateResult),
  evalMs: z.number(),
});

export const MemoryResult = z.object({
  device: z.object({ used: z.number(), total: z.number() }).optional(),
  rss: z.number(),
  peakRss: z.number().optional(),
});

export const BenchmarkResult = z.object({
  prefillMs: z.number(),
  decodeMs: z.number(),
  promptTokens: z.number().int().nonnegative(),
  generatedTokens: z.number().int().nonnegative(),
});

/** The first malformed entry of scoreChoices' `choices`, by one loop over plain type checks. */
function choicesFlaw(choices: unknown): Flaw | undefined {
  if (!Array.isArray(choices))
    return { path: [], message: `expected array, got ${typeName(choices)}` };
  for (let i = 0; i < choices.length; i++) {
    const choice: unknown = choices[i];
    if (typeof choice !== "object" || choice === null || Array.isArray(choice)) {
      return { path: [i], message: `expected object, got ${typeName(choice)}` };
    }
    const { logprobs, greedy } = choice as Record<string, unknown>;
    if (typeof greedy !== "boolean") {
      return { path: [i, "greedy"], message: `expected boolean, got ${typeName(greedy)}` };
    }
    if (!Array.isArray(logprobs)) {
      return { path: [i, "logprobs"], message: `expected array, got ${typeName(logprobs)}` };
    }
    for (let j = 0; j < logprobs.length; j++) {
      if (typeof logprobs[j] !== "number") {
        return {
          path: [i, "logprobs", j],
          message: `expected number, got ${typeName(logprobs[j])}`,
        };
      }
    }
  }
  return undefined;
}

export const ScoreChoicesResult = z.object({
  choices: z
    .custom<ChoiceScore[]>()
    .superRefine((choices, ctx) => asIssue(choicesFlaw(choices), ctx)),
  evalMs: z.number(),
});

/** The first malformed matrix of collectImatrix's `matrices`: a name, finite sums, whole counts ≥ 0 dividing them. */
function matricesFlaw(matrices: unknown): Flaw | undefined {
  if (!Array.isArray(matrices))
    return { path: [], message: `expected array, got ${typeName(matrices)}` };
  for (let i = 0; i < matrices.length; i++) {
    const matrix: unknown = matrices[i];
    if (typeof matrix !== "object" || matrix === null || Array.isArray(matrix)) {
      return { path: [i], message: `expected object, got ${typeName(matrix)}` };
    }
    const { name, sums, counts } = matrix as Record<string, unknown>;
    if (typeof name !== "string" || name === "") {
      return { path: [i, "name"], message: `expected a tensor name, got ${typeName(name)}` };
    }
    if (!Array.isArray(counts) || counts.length < 1) {
      return { path: [i, "counts"], message: "expected a non-empty array" };
    }
    const badCount = counts.findIndex((c) => !Number.isInteger(c) || (c as number) < 0);
    if (badCount >= 0) {
      return { path: [i, "counts", badCount], message: "expected an integer ≥ 0" };
    }
    if (!Array.isArray(sums) || sums.length < 1 || sums.length % counts.length !== 0) {
      return {
        path: [i, "sums"],
        message: `expected a non-empty array whose length is a multiple of counts' (${counts.length})`,
      };
    }
    for (let j = 0; j < sums.length; j++) {
      if (typeof sums[j] !== "number") {
        return { path: [i, "sums", j], message: `expected number, got ${typeName(sums[j])}` };
      }
    }
  }
  return undefined;
}

export const CollectImatrixResult = z.object({
  tokens: z.number().int().nonnegative(),
  evalMs: z.number(),
  matrices: z
    .custom<ImatrixMatrix[]>()
    .superRefine((matrices, ctx) => asIssue(matricesFlaw(matrices), ctx))
    .optional(),
});

export const SwapWeightsResult = z.object({
  swapped: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  swapMs: z.number(),
});

/** What scoreChoices' params promise: one entry per continuation, one log-prob per token. */
function choicesShapeFlaw(
  params: ScoreChoicesParams,
  result: ScoreChoicesResultType,
): Flaw | undefined {
  if (result.choices.length !== params.continuations.length) {
    return {
      path: ["choices"],
      message: `expected ${params.continuations.length} continuations, got ${result.choices.length}`,
    };
  }
  for (let i = 0; i < result.choices.length; i++) {
    const want = params.continuations[i]?.length ?? 0;
    const got = result.choices[i]?.logprobs.length;
    if (got !== want) {
      return {
        path: ["choices", i, "logprobs"],
        message: `expected ${want} log-probs (the continuation's tokens), got ${got}`,
      };
    }
  }
  return undefined;
}

/** Methods whose result the harness reads; `shutdown`'s is ignored. */
export type CheckedMethod = Exclude<MethodName, "shutdown">;

const RESULTS = {
  initialize: InitializeResult,
  load: LoadResult,
  generate: GenerateResult,
  tokenize: TokenizeResult,
  tokenizeBatch: TokenizeBatchResult,
  evaluate: EvaluateResult,
  evaluateBatch: EvaluateBatchResult,
  memory: MemoryResult,
  benchmark: BenchmarkResult,
  scoreChoices: ScoreChoicesResult,
  collectImatrix: CollectImatrixResult,
  swapWeights: SwapWeightsResult,
} satisfies Record<CheckedMethod, z.ZodType>;

/** True when A and B are mutually assignable. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Fails to compile when a schema drifts from its type in protocol.ts. */
const IN_SYNC: {
  [M in CheckedMethod]: Same<z.infer<(typeof RESULTS)[M]>, Methods[M]["result"]>;
} = {
  initialize: true,
  load: true,
  generate: true,
  tokenize: true,
  tokenizeBatch: true,
  evaluate: true,
  evaluateBatch: true,
  memory: true,
  benchmark: true,
  scoreChoices: true,
  collectImatrix: true,
  swapWeights: true,
};
void IN_SYNC;

/** How a result fails the protocol: the field's path (e.g. `scored[3].top[0][1]`) and why. */
export interface ResultFlaw {
  field: string;
  message: string;
}

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`))
    .join("");
}

/** What evaluate's params promise of its result: one position per scored token, one value per target. */
function evaluateShapeFlaw(params: EvaluateParams, result: EvaluateResultType): Flaw | undefined {
  const expected = params.tokens.length - params.scoreFrom;
  if (result.scored.length !== expected) {
    return {
      path: ["scored"],
      message: `expected ${expected} positions (tokens − scoreFrom), got ${result.scored.length}`,
    };
  }
  if (params.reference) {
    const at = result.scored.findIndex((s) => s.kld === undefined || s.sameTop === undefined);
    if (at >= 0) {
      return {
        path: ["scored", at],
        message: "expected kld and sameTop (evaluate with reference)",
      };
    }
  }
  if (!params.targets) return undefined;
  for (let i = 0; i < expected; i++) {
    const want = params.targets[i]?.length ?? 0;
    const got = result.scored[i]?.targets;
    if (got?.length !== want) {
      return {
        path: ["scored", i, "targets"],
        message: `expected ${want} target log-probs, got ${got === undefined ? "none" : got.length}`,
      };
    }
  }
  return undefined;
}

/** The first way `result` fails `method`'s schema (and, for evaluate, its params), if any. */
export function checkResult<M extends MethodName>(
  method: M,
  params: Methods[M]["params"],
  result: unknown,
): ResultFlaw | undefined {
  if (method === "shutdown") return undefined;
  const parsed = RESULTS[method as CheckedMethod].safeParse(result);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { field: fieldPath(issue?.path ?? []), message: issue?.message ?? "invalid" };
  }
  if (method === "evaluate") {
    const flaw = evaluateShapeFlaw(params as EvaluateParams, result as EvaluateResultType);
    if (flaw) return { field: fieldPath(flaw.path), message: flaw.message };
  }
  if (method === "evaluateBatch") {
    const { windows } = params as EvaluateBatchParams;
    const { results } = result as EvaluateBatchResultType;
    if (results.length !== windows.length) {
      const message = `expected ${windows.length} results (one per window), got ${results.length}`;
      return { field: "results", message };
    }
    for (const [i, window] of windows.entries()) {
      const flaw = evaluateShapeFlaw(window, results[i] as EvaluateResultType);
      if (flaw) return { field: fieldPath(["results", i, ...flaw.path]), message: flaw.message };
    }
  }
  if (method === "collectImatrix") {
    const read = (params as CollectImatrixParams).read === true;
    if (read && (result as { matrices?: unknown }).matrices === undefined) {
      return { field: "matrices", message: "expected the matrices (collectImatrix with read)" };
    }
  }
  if (method === "tokenizeBatch") {
    const { texts } = params as TokenizeBatchParams;
    const { batch } = result as TokenizeBatchResultType;
    if (batch.length !== texts.length) {
      const message = `expected ${texts.length} token lists (one per text), got ${batch.length}`;
      return { field: "batch", message };
    }
  }
  if (method === "scoreChoices") {
    const flaw = choicesShapeFlaw(params as ScoreChoicesParams, result as ScoreChoicesResultType);
    if (flaw) return { field: fieldPath(flaw.path), message: flaw.message };
  }
  return undefined;
}
