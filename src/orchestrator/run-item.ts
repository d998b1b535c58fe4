import { RunnerFailure } from "../errors.js";
import type { Plan } from "../plan/schema.js";
import type { RunnerClient } from "../runner-client/client.js";
import type { GenerateParams } from "../runner-client/protocol.js";
import { nllSums } from "../scoring/perplexity.js";
import type { ResultRow } from "../store/store.js";
import { type ChoiceItem, scoreChoiceItem } from "./score-choices.js";
import { type BaselineChunk, type HashedChunk, scoreChunk } from "./score-chunks.js";
import { scoreGeneration } from "./score-item.js";
import { scoreLoglikelihood, scoreRolling } from "./score-loglikelihood.js";
import type { WorkItem } from "./work.js";

/** A finished item's figures, as stored (the key is the session's). */
export type ItemResult = Omit<ResultRow, "suiteId" | "itemId" | "repeat">;

/** What scoring an item needs beyond the item: the plan, and the model's BOS when it adds one. */
export interface ItemContext {
  plan: Plan;
  bos: number | null;
  /** Top-K kept per perplexity token: the baseline's `plan.topK`, 0 for the others. */
  topK: number;
  /** The model's BOS whether or not its tokenizer adds it: lm-eval's prefix token. */
  prefix?: number | null;
  /** What the runner said it can do (load's capabilities where it gave them, else initialize's). */
  capabilities?: readonly string[];
  /** What the runner loaded onto (load's `device`), named when a suite is skipped. */
  device?: string;
  /** The baseline's stored chunk, for a chunk item of a variant that is not the baseline. */
  baseline?: BaselineChunk | undefined;
  /** Exact KLD: the runner has the baseline loaded as its reference (`plan.kldMethod: exact`). */
  reference?: boolean;
  /** Multiple choice: texts already tokenized (with BOS) for this item and those near it. */
  tokens?: ReadonlyMap<string, number[]> | undefined;
}

/** Runs one work item on a runner; a runner's failure is thrown as RunnerFailure. */
export function runItem(
  runner: RunnerClient,
  item: WorkItem,
  context: ItemContext,
): Promise<ItemResult> {
  const timeoutMs = context.plan.timeouts.itemSeconds * 1000;
  if (item.kind === "generate") {
    return generateItem(runner, item, context.plan.contextSize, timeoutMs);
  }
  if (item.kind === "text") return scoreText(runner, item.text, context, timeoutMs);
  if (item.kind === "choice") return choiceResult(runner, item.choice, context, timeoutMs);
  if (item.kind === "loglikelihood" || item.kind === "rolling") {
    return likelihoodResult(runner, item, context, timeoutMs);
  }
  return chunkResult(runner, item.chunk, context, timeoutMs);
}

async function generateItem(
  runner: RunnerClient,
  item: { suite: WorkItem["suite"]; params: GenerateParams; reference: string },
  contextSize: number,
  timeoutMs: number,
): Promise<ItemResult> {
  const sentAt = performance.now();
  const out = await runner.request("generate", item.params, timeoutMs);
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
    metrics: scoreGeneration(item.suite.metrics, out.text, item.reference),
  };
}

async function chunkResult(
  runner: RunnerClient,
  chunk: HashedChunk,
  context: ItemContext,
  timeoutMs: number,
): Promise<ItemResult> {
  const scored = await scoreChunk(runner, chunk, {
    topK: context.topK,
    baseline: context.baseline,
    reference: context.reference,
    timeoutMs,
  });
  const { evalMs, ipcMs, sums, covered, ...tokens } = scored;
  const metrics: Record<string, number> = {
    nll_sum: sums.nllSum,
    nll2_sum: sums.nll2Sum,
    tokens: sums.count,
  };
  if (scored.kld && scored.sameTop) {
    metrics.kld_sum = scored.kld.reduce((a, b) => a + b, 0);
    metrics.same_top = scored.sameTop.reduce((a, b) => a + b, 0);
  }
  if (covered) {
    // A top-K KLD is a lower bound: the baseline's mass its kept entries cover says how tight.
    metrics.kld_covered_sum = covered.reduce((a, b) => a + b, 0);
    metrics.kld_bound_tokens = covered.length;
  }
  return {
    status: "ok",
    promptTokens: chunk.tokens.length,
    totalMs: evalMs,
    ipcMs,
    metrics,
    tokens,
  };
}

/** One item's text: windows of ctx tokens, each starting with BOS, every text token scored once. */
async function scoreText(
  runner: RunnerClient,
  text: string,
  { plan, bos }: ItemContext,
  timeoutMs: number,
): Promise<ItemResult> {
  const sentAt = performance.now();
  const { tokens } = await runner.request("tokenize", { text, addBos: false }, timeoutMs);
  const prefix = bos === null ? [] : [bos];
  const width = plan.contextSize - prefix.length;
  const logprobs: number[] = [];
  let evalMs = 0;
  for (let at = 0; at < tokens.length; at += width) {
    const window = [...prefix, ...tokens.slice(at, at + width)];
    // Without BOS a window's first token has no context, so it is not scored.
    const scoreFrom = 1;
    if (window.length <= scoreFrom) continue;
    const out = await runner.request(
      "evaluate",
      { tokens: window, scoreFrom, topK: plan.topK },
      timeoutMs,
    );
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

/**
 * A multiple-choice item: stored with the pick as output and each choice's score beside it, so
 * the report shows what each variant chose; a runner without scoreChoices skips the suite.
 */
async function choiceResult(
  runner: RunnerClient,
  item: ChoiceItem,
  context: ItemContext,
  timeoutMs: number,
): Promise<ItemResult> {
  requireChoices(context);
  const sentAt = performance.now();
  // lm-eval's max_length is the plan's context: a longer item is cut from the left.
  const maxLength = context.plan.contextSize;
  const { capabilities, tokens } = context;
  const out = await scoreChoiceItem(runner, item, timeoutMs, capabilities, maxLength, tokens);
  return {
    status: "ok",
    output: choiceOutput(item.choices, out.pick, out.scores),
    promptTokens: out.evaluatedTokens,
    totalMs: out.evalMs,
    ipcMs: performance.now() - sentAt,
    // Stored only where the item was cut, so the suite's sum is the count of cut items.
    metrics: out.truncated ? { ...out.metrics, truncated: 1 } : out.metrics,
  };
}

/** `pick <i>: <text>` then each choice's score, as the report shows a variant's answer. */
export function choiceOutput(
  choices: readonly string[],
  pick: number,
  scores: readonly number[],
): string {
  const lines = scores.map(
    (score, i) => `${i === pick ? "→" : " "} ${i}: ${score.toFixed(4)}  ${choices[i]}`,
  );
  return [`pick ${pick}: ${choices[pick]}`, ...lines].join("\n");
}

/** Log-likelihood scoring needs scoreChoices: a runner without it has the suite skipped. */
function requireChoices(context: ItemContext): void {
  if (context.capabilities && !context.capabilities.includes("choices")) {
    const on = context.device ? ` on ${context.device}` : "";
    throw new RunnerFailure("error", `the runner cannot score choices (no scoreChoices${on})`, {
      runnerCode: "UNSUPPORTED",
    });
  }
}

/** A loglikelihood (LAMBADA-style) or loglikelihood_rolling (whole document) item. */
async function likelihoodResult(
  runner: RunnerClient,
  item: Extract<WorkItem, { kind: "loglikelihood" | "rolling" }>,
  context: ItemContext,
  timeoutMs: number,
): Promise<ItemResult> {
  requireChoices(context);
  const sentAt = performance.now();
  let out: Awaited<ReturnType<typeof scoreRolling>>;
  if (item.kind === "loglikelihood") {
    const { context: text, continuation } = item;
    out = await scoreLoglikelihood(
      runner,
      { context: text, continuation, bos: context.bos, maxLength: context.plan.contextSize },
      timeoutMs,
    );
  } else {
    if (context.prefix === null || context.prefix === undefined) {
      throw new RunnerFailure(
        "error",
        "loglikelihood_rolling needs the model's BOS as its prefix token",
      );
    }
    const spec = { text: item.text, prefix: context.prefix, maxLength: context.plan.contextSize };
    out = await scoreRolling(runner, spec, timeoutMs);
  }
  return {
    status: "ok",
    promptTokens: out.evaluatedTokens,
    totalMs: out.evalMs,
    ipcMs: performance.now() - sentAt,
    metrics: out.metrics,
  };
}
