#!/usr/bin/env node
/**
 * Test-only runners that misbehave on purpose: `crash` exits mid-item, `hang` never answers
 * generate, `slow` takes 40 ms per generation (to be interrupted mid-run), `malformed-<method>`
 * answers that method with a result that breaks the protocol (see MALFORMED), and
 * `choices-crash-on-marker` scores multiple-choice items (one token a character) but exits on an
 * item whose context holds "CRASH", a while after the request came (so that the next item's
 * request is already in flight). They speak the real protocol for everything else.
 */
import { type Handlers, RunnerError, serve } from "../../runners/shared/serve.js";

const mode = process.argv[2];

/** What `malformed-<method>` changes in that method's otherwise good result. */
const MALFORMED: Record<string, Record<string, unknown>> = {
  initialize: { backends: "cpu" },
  load: { contextSize: "256" },
  generate: { completionTokens: undefined },
  tokenize: { tokens: [1, 2, "3"] },
  evaluate: { scored: [{ logprob: -1 }, { logprob: "-1.1" }] },
  "evaluate-top": { scored: [{ logprob: -1, top: [[1, -1], [2]] }] },
  "evaluate-count": { scored: [] },
  memory: { rss: null },
  benchmark: { decodeMs: "fast" },
};

/** Breaks `method`'s result when this runner runs as `malformed-<method>`. */
function maybeMalformed<M extends keyof Handlers>(method: M, handler: Handlers[M]): Handlers[M] {
  const broken = Object.entries(MALFORMED).find(
    ([name]) => mode === `malformed-${name}` && name.split("-")[0] === method,
  )?.[1];
  if (!broken) return handler;
  return (async (params: never, receivedAt: number) => ({
    ...((await (handler as (p: never, at: number) => unknown)(params, receivedAt)) as object),
    ...broken,
  })) as unknown as Handlers[M];
}

const choices = mode === "choices-crash-on-marker";
/** One token a character in the choices mode (its 256-token vocabulary), else one of 3. */
const tokenOf = (c: string) => c.charCodeAt(0) % (choices ? 256 : 3);

const handlers: Handlers = {
  initialize: () => ({
    name: `fake-${mode}`,
    version: "0",
    protocolVersion: 1,
    engine: "none",
    backends: ["cpu"],
    capabilities: [
      "generate",
      "tokenize",
      "evaluate",
      "memory",
      ...(choices ? (["choices", "tokenize-batch"] as const) : []),
    ],
  }),
  load: (params) => {
    if (mode === "bad-load")
      throw new RunnerError("OUT_OF_MEMORY", "cannot allocate the model (test runner)");
    return {
      backend: "cpu",
      device: "test",
      modelBytes: 0,
      parameterCount: 0,
      tensorTypes: {},
      loadMs: 0,
      contextSize: params.contextSize,
      vocabularySize: choices ? 256 : 3,
      addBos: false,
      bos: null,
    };
  },
  generate: async (params) => {
    if (mode === "crash" || (mode === "crash-on-marker" && params.prompt.includes("CRASH"))) {
      process.stderr.write("fake runner: about to crash mid-item\n");
      process.exit(7);
    }
    if (mode === "hang") {
      process.stderr.write("fake runner: hanging\n");
      await new Promise(() => setInterval(() => {}, 1000));
    }
    if (mode === "slow") await new Promise((done) => setTimeout(done, 40));
    // "long" and "short" write 10 and 5 words of the same answer; "short" is faster per token.
    const words = mode === "long" ? 10 : mode === "short" ? 5 : 1;
    const text = ["the", "cat", "sat", "on", "the", "mat", "and", "then", "it", "slept"]
      .slice(0, words)
      .join(" ");
    return {
      // Otherwise the cloze suite's answer: a baseline that scores 0 would make every gate inconclusive.
      text: mode === "long" || mode === "short" ? text : "there",
      promptTokens: 1,
      completionTokens: words,
      ttftMs: 1,
      tokenizeMs: 0,
      decodeMs: mode === "short" ? 2 : words - 1,
      totalMs: 1 + words,
      finishReason: "stop",
    };
  },
  tokenize: ({ text }) => ({ tokens: [...text].map(tokenOf) }),
  tokenizeBatch: ({ texts }) => ({ batch: texts.map((text) => [...text].map(tokenOf)) }),
  scoreChoices: async ({ context, continuations }) => {
    if (String.fromCharCode(...context).includes("CRASH")) {
      await new Promise((done) => setTimeout(done, 50));
      process.stderr.write("fake runner: about to crash mid-item\n");
      process.exit(7);
    }
    // A continuation with an "f" in it scores −1 a token, any other −2.
    const choices = continuations.map((tokens) => ({
      logprobs: tokens.map(() => (tokens.includes("f".charCodeAt(0)) ? -1 : -2)),
      greedy: false,
    }));
    return { choices, evalMs: 0 };
  },
  evaluate: ({ tokens, scoreFrom }) => ({
    scored: tokens.slice(scoreFrom).map(() => ({ logprob: Math.log(1 / 3) })),
    evalMs: 0,
  }),
  memory: () => ({ rss: process.memoryUsage().rss }),
  benchmark: (params) => ({
    prefillMs: params.promptTokens / 100,
    decodeMs: params.generateTokens / 10,
    promptTokens: params.promptTokens,
    generatedTokens: params.generateTokens,
  }),
  shutdown: () => null,
};

await serve({
  ...handlers,
  initialize: maybeMalformed("initialize", handlers.initialize),
  load: maybeMalformed("load", handlers.load),
  generate: maybeMalformed("generate", handlers.generate),
  tokenize: maybeMalformed("tokenize", handlers.tokenize),
  evaluate: maybeMalformed("evaluate", handlers.evaluate),
  memory: maybeMalformed("memory", handlers.memory),
  benchmark: maybeMalformed("benchmark", handlers.benchmark as NonNullable<Handlers["benchmark"]>),
});
process.exit(0);
