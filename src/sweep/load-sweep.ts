/**
 * A load sweep against one OpenAI-compatible server: for each level — a fixed concurrency, or
 * a request rate with Poisson arrivals as vLLM's serving benchmark draws them — send requests,
 * time each token event, and summarize throughput, TTFT / ITL percentiles and goodput.
 * Bounded: at most `requestsPerLevel` requests per level, none sent after `maxSecondsPerLevel`,
 * each cut at the per-request timeout; failures are counted, not retried.
 */
import pLimit from "p-limit";
import type { Endpoint } from "../../lib/openai/http-call.js";
import { streamCompletion } from "../../lib/openai/openai-stream.js";
import { messageOf } from "../errors.js";
import { exponentialGaps } from "./arrivals.js";
import { type Budgets, type LevelStats, type RequestOutcome, summarizeLevel } from "./stats.js";

export type SweepLevel = { concurrency: number } | { rate: number; maxConcurrency?: number };

export interface SweepTarget {
  baseUrl: string;
  model: string;
  apiKey?: string;
  chat: boolean;
  timeoutSeconds: number;
  extraBody?: Record<string, unknown>;
}

export interface SweepOptions {
  target: SweepTarget;
  /** Used in turn, wrapping around. */
  prompts: string[];
  maxTokens: number;
  /** 0 = greedy; the same for every request. */
  temperature: number;
  levels: SweepLevel[];
  requestsPerLevel: number;
  maxSecondsPerLevel: number;
  budgets: Budgets;
  seed: number;
  /** Requests sent one at a time before the first level and not counted. */
  warmup: number;
  onLevel?: (result: LevelResult) => void;
}

export interface LevelResult extends LevelStats {
  level: SweepLevel;
  /** The first few distinct failure messages. */
  errors: string[];
}

export function describeLevel(level: SweepLevel): string {
  if ("concurrency" in level) return `concurrency ${level.concurrency}`;
  const cap = level.maxConcurrency === undefined ? "" : ` (≤ ${level.maxConcurrency} in flight)`;
  return `${level.rate} req/s${cap}`;
}

function endpointOf(target: SweepTarget): Endpoint {
  return {
    baseUrl: target.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, ""),
    apiKey: target.apiKey,
    timeoutMs: target.timeoutSeconds * 1000,
    // A load test counts a 429 as a failed request; retrying would hide the overload.
    retries: 0,
    retryBaseMs: 0,
  };
}

async function sendOne(
  options: SweepOptions,
  prompt: string,
  levelStart: number,
): Promise<RequestOutcome> {
  const sentAt = performance.now();
  const base = {
    sentMs: sentAt - levelStart,
    ttftMs: 0,
    itlMs: [],
    e2eMs: 0,
    outputTokens: 0,
    promptTokens: 0,
  };
  try {
    const out = await streamCompletion(endpointOf(options.target), {
      model: options.target.model,
      prompt,
      chat: options.target.chat,
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      stop: [],
      seed: options.seed,
      ...(options.target.extraBody ? { extraBody: options.target.extraBody } : {}),
    });
    const first = out.tokenTimes[0];
    if (first === undefined) {
      return {
        ...base,
        ok: false,
        error: "no token event in the stream",
        e2eMs: out.endedAt - sentAt,
      };
    }
    return {
      ok: true,
      sentMs: sentAt - levelStart,
      ttftMs: first - sentAt,
      itlMs: out.tokenTimes.slice(1).map((t, i) => t - (out.tokenTimes[i] ?? t)),
      e2eMs: out.endedAt - sentAt,
      outputTokens: out.usage?.completionTokens ?? out.tokenTimes.length,
      promptTokens: out.usage?.promptTokens ?? 0,
    };
  } catch (error) {
    return {
      ...base,
      ok: false,
      error: messageOf(error),
      e2eMs: performance.now() - sentAt,
    };
  }
}

async function runLevel(
  options: SweepOptions,
  level: SweepLevel,
  ordinal: number,
): Promise<LevelResult> {
  const { prompts, requestsPerLevel } = options;
  const start = performance.now();
  const deadline = start + options.maxSecondsPerLevel * 1000;
  const outcomes: RequestOutcome[] = [];
  let lastAnswer = start;
  const send = async (i: number) => {
    const outcome = await sendOne(options, prompts[i % prompts.length] ?? "", start);
    outcomes.push(outcome);
    lastAnswer = Math.max(lastAnswer, performance.now());
  };
  if ("concurrency" in level) {
    let next = 0;
    const worker = async () => {
      while (next < requestsPerLevel && performance.now() < deadline) await send(next++);
    };
    await Promise.all(
      Array.from({ length: Math.min(level.concurrency, requestsPerLevel) }, worker),
    );
  } else {
    const limit = pLimit(level.maxConcurrency ?? Number.POSITIVE_INFINITY);
    const gaps = exponentialGaps(level.rate, options.seed + ordinal);
    const sent: Promise<void>[] = [];
    let at = start;
    for (let i = 0; i < requestsPerLevel; i++) {
      at += gaps.next();
      const wait = at - performance.now();
      if (at > deadline) break;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      sent.push(limit(() => send(i)));
    }
    await Promise.all(sent);
  }
  const stats = summarizeLevel(outcomes, (lastAnswer - start) / 1000, options.budgets);
  const errors = [...new Set(outcomes.flatMap((o) => (o.error ? [o.error] : [])))].slice(0, 3);
  return { ...stats, level, errors };
}

function checkOptions(options: SweepOptions): void {
  if (options.prompts.length === 0) throw new TypeError("a sweep needs at least one prompt");
  if (options.levels.length === 0) throw new TypeError("a sweep needs at least one level");
  if (!(options.requestsPerLevel >= 1)) throw new TypeError("requestsPerLevel must be ≥ 1");
  if (!(options.maxSecondsPerLevel > 0)) throw new TypeError("maxSecondsPerLevel must be > 0");
  for (const level of options.levels) {
    const ok =
      "concurrency" in level
        ? Number.isInteger(level.concurrency) && level.concurrency >= 1
        : level.rate > 0 && (level.maxConcurrency === undefined || level.maxConcurrency >= 1);
    if (!ok) throw new TypeError(`bad sweep level ${JSON.stringify(level)}`);
  }
}

/** Runs every level in order; the warm-up requests go first and are not counted. */
export async function runLoadSweep(options: SweepOptions): Promise<LevelResult[]> {
  checkOptions(options);
  for (let i = 0; i < options.warmup; i++) {
    await sendOne(options, options.prompts[i % options.prompts.length] ?? "", performance.now());
  }
  const results: LevelResult[] = [];
  for (const [ordinal, level] of options.levels.entries()) {
    const result = await runLevel(options, level, ordinal);
    results.push(result);
    options.onLevel?.(result);
  }
  return results;
}
