import type { Plan } from "../plan/schema.js";
import { inShard, type Shard } from "../plan/shard.js";
import type { GenerateParams } from "../runner-client/protocol.js";
import {
  choiceMetric,
  isGenerationMetric,
  type LoadedSuite,
  type SuiteItem,
} from "../suites/load.js";
import type { ChoiceItem } from "./score-choices.js";
import type { HashedChunk } from "./score-chunks.js";

/** One unit of work of a variant: one stored result when done. */
export type WorkItem =
  | {
      kind: "generate";
      suite: LoadedSuite;
      itemId: string;
      repeat: number;
      params: GenerateParams;
      reference: string;
    }
  | { kind: "text"; suite: LoadedSuite; itemId: string; repeat: 0; text: string }
  | { kind: "choice"; suite: LoadedSuite; itemId: string; repeat: 0; choice: ChoiceItem }
  | {
      kind: "loglikelihood";
      suite: LoadedSuite;
      itemId: string;
      repeat: 0;
      context: string;
      continuation: string;
    }
  | { kind: "rolling"; suite: LoadedSuite; itemId: string; repeat: 0; text: string }
  | { kind: "chunk"; suite: LoadedSuite; itemId: string; repeat: 0; chunk: HashedChunk };

/** A suite's share of the run: its items (this shard's), or a text to cut into chunks. */
export type SuiteWork =
  | { kind: "items"; suite: LoadedSuite; items: SuiteItem[]; work: WorkItem[] }
  | { kind: "chunks"; suite: LoadedSuite; path: string; text: string; ctx: number };

/** What every variant of a run does, known before any runner starts. */
export interface Work {
  suites: SuiteWork[];
  shard: Shard;
  /** The warm-up generation, if the plan has a generation suite. */
  warmUp: GenerateParams | undefined;
}

/** The suites, items and repeats of this shard; the shard is applied here (chunks: in chunkWork). */
export function planWork(plan: Plan, suites: readonly LoadedSuite[], shard: Shard): Work {
  return {
    shard,
    warmUp: warmUpParams(plan, suites),
    suites: suites.map((suite): SuiteWork => {
      const file = suite.perplexityFile;
      if (file) {
        const ctx = file.ctx ?? plan.contextSize;
        return { kind: "chunks", suite, path: file.path, text: file.text, ctx };
      }
      const items = inShard(suite.id, suite.items, (item) => item.id, shard);
      return { kind: "items", suite, items, work: itemWork(plan, suite, items) };
    }),
  };
}

/** The chunks of this shard, named `chunk-0001`… in text order. */
export function chunkWork(
  suite: LoadedSuite,
  chunks: readonly HashedChunk[],
  shard: Shard,
): WorkItem[] {
  const named = chunks.map((chunk, i) => ({
    kind: "chunk" as const,
    suite,
    itemId: `chunk-${String(i + 1).padStart(4, "0")}`,
    repeat: 0 as const,
    chunk,
  }));
  return inShard(suite.id, named, (item) => item.itemId, shard);
}

function itemWork(plan: Plan, suite: LoadedSuite, items: readonly SuiteItem[]): WorkItem[] {
  const generates = suite.metrics.some(isGenerationMetric);
  const scoresText = suite.metrics.some((m) => "perplexity" in m);
  const options = choiceMetric(suite);
  const likelihood = suite.metrics.some((m) => "loglikelihood" in m);
  const rolling = suite.metrics.some((m) => "loglikelihood_rolling" in m);
  return items.flatMap((item): WorkItem[] => {
    const key = { suite, itemId: item.id, repeat: 0 as const };
    if (likelihood) {
      const continuation = item.reference ?? "";
      return [{ kind: "loglikelihood", ...key, context: item.prompt, continuation }];
    }
    if (rolling) return [{ kind: "rolling", ...key, text: item.text ?? "" }];
    if (options && item.choices) {
      const { texts, gold } = item.choices;
      const choice = { context: item.prompt, choices: texts, gold, options };
      return [{ kind: "choice", suite, itemId: item.id, repeat: 0, choice }];
    }
    if (generates) {
      const params = generationParams(plan, suite, item.prompt);
      const reference = item.reference ?? "";
      return Array.from({ length: plan.repeats }, (_, repeat) => ({
        kind: "generate",
        suite,
        itemId: item.id,
        repeat,
        params,
        reference,
      }));
    }
    if (!scoresText || item.text === undefined) return [];
    return [{ kind: "text", suite, itemId: item.id, repeat: 0, text: item.text }];
  });
}

function generationParams(plan: Plan, suite: LoadedSuite, prompt: string): GenerateParams {
  const g = { ...plan.generation, ...suite.generation };
  return {
    prompt,
    maxTokens: g.maxTokens,
    stop: g.stop,
    temperature: g.temperature,
    seed: plan.seed,
  };
}

/** The shortest prompt of the generation suites (all items, any shard): the likeliest to fit. */
function warmUpParams(plan: Plan, suites: readonly LoadedSuite[]): GenerateParams | undefined {
  let best: { suite: LoadedSuite; prompt: string } | undefined;
  for (const suite of suites) {
    if (!suite.metrics.some(isGenerationMetric)) continue;
    for (const item of suite.items) {
      if (!best || item.prompt.length < best.prompt.length) best = { suite, prompt: item.prompt };
    }
  }
  return best && generationParams(plan, best.suite, best.prompt);
}
