import { createHash } from "node:crypto";
import { RunnerFailure } from "../errors.js";
import type { ResolvedPlan } from "../plan/load.js";
import { inShard, type Shard } from "../plan/shard.js";
import type { RunnerClient } from "../runner-client/client.js";
import type { GenerateParams, LoadResult } from "../runner-client/protocol.js";
import { nllSums, perplexityChunks } from "../scoring/perplexity.js";
import type { ResultRow, Store, TokenScores } from "../store/store.js";
import { isGenerationMetric, type LoadedSuite } from "../suites/load.js";
import { scoreGeneration } from "./score-item.js";
import { compareWithBaseline, packTopK, targetsOf } from "./topk.js";
import type { SessionOptions } from "./variant-session.js";

/** A unit of work: one stored result when done. */
export interface Task {
  suite: LoadedSuite;
  itemId: string;
  repeat: number;
  run(runner: RunnerClient): Promise<Omit<ResultRow, "suiteId" | "itemId" | "repeat">>;
}

/** The tasks of this shard: whole items (all their repeats) dealt by inShard. */
export function shardTasks(suiteId: string, tasks: Task[], shard: Shard): Task[] {
  if (shard.count === 1) return tasks;
  const ids = new Set(
    inShard(suiteId, [...new Set(tasks.map((t) => t.itemId))], (id) => id, shard),
  );
  return tasks.filter((t) => ids.has(t.itemId));
}

function generationParams(
  suite: LoadedSuite,
  plan: ResolvedPlan["plan"],
  prompt: string,
): GenerateParams {
  const g = { ...plan.generation, ...suite.generation };
  return {
    prompt,
    maxTokens: g.maxTokens,
    stop: g.stop,
    temperature: g.temperature,
    seed: plan.seed,
  };
}

/** The shortest prompt of the generation suites: the one most likely to fit the context. */
function warmUpPrompt(resolved: ResolvedPlan): { suite: LoadedSuite; prompt: string } | undefined {
  let best: { suite: LoadedSuite; prompt: string } | undefined;
  for (const suite of resolved.suites) {
    if (!suite.metrics.some(isGenerationMetric)) continue;
    for (const item of suite.items) {
      if (!best || item.prompt.length < best.prompt.length) best = { suite, prompt: item.prompt };
    }
  }
  return best;
}

/**
 * Warm-up generations: they load caches and code paths, and are not stored. A warm-up never
 * costs the variant: if it fails, the reason is returned and the items run without it.
 */
export async function warmUp(
  runner: RunnerClient,
  { resolved }: SessionOptions,
): Promise<RunnerFailure | undefined> {
  const chosen = warmUpPrompt(resolved);
  if (!chosen) return undefined;
  for (let i = 0; i < resolved.plan.warmup; i++) {
    try {
      await runner.request(
        "generate",
        generationParams(chosen.suite, resolved.plan, chosen.prompt),
        resolved.plan.timeouts.itemSeconds * 1000,
      );
    } catch (error) {
      if (error instanceof RunnerFailure) return error;
      throw error;
    }
  }
  return undefined;
}

export async function suiteTasks(
  runner: RunnerClient,
  suite: LoadedSuite,
  options: SessionOptions,
  load: LoadResult | undefined,
): Promise<Task[]> {
  const { resolved, store, runId } = options;
  const { plan } = resolved;
  const timeout = plan.timeouts.itemSeconds * 1000;
  const bos = load?.addBos ? load.bos : null;
  if (suite.perplexityFile) {
    const ctx = suite.perplexityFile.ctx ?? plan.contextSize;
    const { tokens } = await runner.request(
      "tokenize",
      { text: suite.perplexityFile.text, addBos: true },
      timeout,
    );
    const chunks = perplexityChunks(tokens, ctx, bos);
    if (chunks.length === 0) {
      throw new RunnerFailure(
        "error",
        `${suite.perplexityFile.path} has ${tokens.length} tokens; perplexity needs at least ctx = ${ctx}`,
      );
    }
    const ids = chunks.map((_, i) => `chunk-${String(i + 1).padStart(4, "0")}`);
    store.addItems(
      runId,
      suite.id,
      inShard(suite.id, ids, (id) => id, options.shard).map((id) => ({
        id,
        prompt: "",
        reference: undefined,
      })),
    );
    return chunks.map((chunk, i) => {
      const itemId = ids[i] ?? String(i);
      return {
        suite,
        itemId,
        repeat: 0,
        run: (r) =>
          scoreChunk(r, chunk.tokens, chunk.scoreFrom, timeout, {
            topK: options.variant.isBaseline ? plan.topK : 0,
            baseline: options.variant.isBaseline
              ? undefined
              : store.baselineTokens(runId, suite.id, itemId),
          }),
      };
    });
  }
  const tasks: Task[] = [];
  const generates = suite.metrics.some(isGenerationMetric);
  const textMetric = suite.metrics.find((m) => "perplexity" in m);
  for (const item of suite.items) {
    if (generates) {
      for (let repeat = 0; repeat < plan.repeats; repeat++) {
        tasks.push({
          suite,
          itemId: item.id,
          repeat,
          run: (r) =>
            generateItem(
              r,
              suite,
              generationParams(suite, plan, item.prompt),
              item.reference ?? "",
              timeout,
              plan.contextSize,
            ),
        });
      }
    } else if (textMetric && item.text !== undefined) {
      const text = item.text;
      tasks.push({
        suite,
        itemId: item.id,
        repeat: 0,
        run: (r) => scoreText(r, text, plan.contextSize, bos, plan.topK, timeout),
      });
    }
  }
  return tasks;
}

async function generateItem(
  runner: RunnerClient,
  suite: LoadedSuite,
  params: GenerateParams,
  reference: string,
  timeout: number,
  contextSize: number,
): Promise<Omit<ResultRow, "suiteId" | "itemId" | "repeat">> {
  const sentAt = performance.now();
  const out = await runner.request("generate", params, timeout);
  const ipcMs = performance.now() - sentAt;
  // Held to the plan's context whatever the runner allowed (a server may have a larger one).
  if (out.promptTokens + out.completionTokens > contextSize) {
    throw new RunnerFailure(
      "error",
      `prompt ${out.promptTokens} + completion ${out.completionTokens} tokens exceed the plan's contextSize ${contextSize}`,
      { runnerCode: "CONTEXT_OVERFLOW" },
    );
  }
  return {
    status: "ok",
    output: out.text,
    promptTokens: out.promptTokens,
    completionTokens: out.completionTokens,
    ttftMs: out.ttftMs,
    tokenizeMs: out.tokenizeMs,
    decodeMs: out.decodeMs,
    totalMs: out.totalMs,
    ipcMs,
    finishReason: out.finishReason,
    metrics: scoreGeneration(suite.metrics, out.text, reference),
  };
}

/**
 * One llama-perplexity chunk. The baseline keeps its top-K per token; another variant is asked
 * for its log-probs of those ids, giving per-token KLD and same-top against the baseline.
 */
async function scoreChunk(
  runner: RunnerClient,
  tokens: number[],
  scoreFrom: number,
  timeout: number,
  kld: { topK: number; baseline: ReturnType<Store["baselineTokens"]> },
): Promise<Omit<ResultRow, "suiteId" | "itemId" | "repeat">> {
  const tokensHash = createHash("sha256").update(Int32Array.from(tokens)).digest("hex");
  const base = kld.baseline?.topk;
  if (kld.baseline && kld.baseline.tokensHash !== tokensHash) {
    throw new RunnerFailure(
      "error",
      "the tokens differ from the baseline's: KLD and paired perplexity need the same tokenization",
      {
        runnerCode: "TOKENIZATION_MISMATCH",
      },
    );
  }
  const sentAt = performance.now();
  const out = await runner.request(
    "evaluate",
    { tokens, scoreFrom, topK: base ? 1 : kld.topK, ...(base ? { targets: targetsOf(base) } : {}) },
    timeout,
  );
  const logprobs = Float32Array.from(out.scored.map((s) => s.logprob));
  const sums = nllSums(out.scored.map((s) => s.logprob));
  const metrics: Record<string, number> = {
    nll_sum: sums.nllSum,
    nll2_sum: sums.nll2Sum,
    tokens: sums.count,
  };
  const scores: TokenScores = { tokensHash, logprobs };
  if (base) {
    const compared = compareWithBaseline(base, out.scored);
    Object.assign(scores, compared);
    metrics.kld_sum = compared.kld.reduce((a, b) => a + b, 0);
    metrics.same_top = compared.sameTop.reduce((a, b) => a + b, 0);
  } else if (kld.topK > 0) {
    scores.topk = packTopK(out.scored);
  }
  return {
    status: "ok",
    promptTokens: tokens.length,
    totalMs: out.evalMs,
    ipcMs: performance.now() - sentAt,
    metrics,
    tokens: scores,
  };
}

/** One item's text: windows of ctx tokens, each starting with BOS, every text token scored once. */
async function scoreText(
  runner: RunnerClient,
  text: string,
  ctx: number,
  bos: number | null,
  topK: number,
  timeout: number,
): Promise<Omit<ResultRow, "suiteId" | "itemId" | "repeat">> {
  const sentAt = performance.now();
  const { tokens } = await runner.request("tokenize", { text, addBos: false }, timeout);
  const prefix = bos === null ? [] : [bos];
  const width = ctx - prefix.length;
  const logprobs: number[] = [];
  let evalMs = 0;
  for (let at = 0; at < tokens.length; at += width) {
    const window = [...prefix, ...tokens.slice(at, at + width)];
    // Without BOS a window's first token has no context, so it is not scored.
    const scoreFrom = 1;
    if (window.length <= scoreFrom) continue;
    const out = await runner.request("evaluate", { tokens: window, scoreFrom, topK }, timeout);
    evalMs += out.evalMs;
    logprobs.push(...out.scored.map((s) => s.logprob));
  }
  const sums = nllSums(logprobs);
  return {
    status: "ok",
    promptTokens: tokens.length,
    totalMs: evalMs,
    ipcMs: performance.now() - sentAt,
    metrics: { nll_sum: sums.nllSum, nll2_sum: sums.nll2Sum, tokens: sums.count },
  };
}
