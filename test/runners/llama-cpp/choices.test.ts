import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunnerClient } from "../../../src/runner-client/client.js";
import type { InitializeResult } from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { startRunner } from "../../../src/runner-client/start.js";
import { cpuKind } from "../../support/cpu-reference.js";
import { model } from "../../support/paths.js";

/**
 * A context decoded first and a continuation after it, against one decode of the whole window,
 * 300 tokens in: llama.cpp's CPU kernels for the two batch shapes round differently, by under
 * 1e-5 per token with AVX-512 kernels, and with AVX2 kernels by 4e-4 here and up to 2.3e-3 per
 * token elsewhere (a 33-token context; measured on an AMD EPYC, stories260K F32, 2026-12-02,
 * scripts/rolling-decode-split.mjs). The bound is that of the kernels this machine runs (an AMX
 * machine runs the AVX-512 kernels on F32 weights: ggml's AMX matmuls take quantized weights only).
 */
const SPLIT_DECODE_BOUND = cpuKind() === "avx512" || cpuKind() === "amx" ? 1e-5 : 3e-3;

const LOAD = { backend: "cpu" as const, contextSize: 128, seed: 1, threads: 1 };

describe("llama.cpp runner scoreChoices (real process, stories260K F32 on CPU)", () => {
  let runner: RunnerClient;
  let init: InitializeResult;

  before(async () => {
    const started = await startRunner(
      resolveRunner("cpu", undefined),
      { ...LOAD, model: model("stories260K-f32.gguf") },
      60_000,
    );
    runner = started.client;
    init = started.init;
  });
  after(() => runner.stop());

  it("says it can score choices", () => {
    assert.ok(init.capabilities.includes("choices"));
  });

  it("gives each continuation the log-probs a whole-sequence evaluate gives (context evaluated once)", async () => {
    const { tokens: context } = await runner.request("tokenize", {
      text: "Once upon a time, there was a little girl named Lily. She",
    });
    const endings = [" loved to play outside.", " was sad.", " saw a big dog in the park.", "."];
    const continuations: number[][] = [];
    for (const ending of endings) {
      const { tokens } = await runner.request("tokenize", { text: ending, addBos: false });
      continuations.push(tokens);
    }
    await assertLikeEvaluate(context, continuations);
  });

  it("more choices than the runner's sequences so far, of unequal lengths: each still as evaluate gives it", async () => {
    const { tokens: context } = await runner.request("tokenize", {
      text: "One day, Tom went to the",
    });
    const endings = [
      " park.",
      " big red shop to buy",
      " sea",
      " school and played with his friends",
      "!",
      " zoo with mom",
      " forest",
    ];
    const continuations: number[][] = [];
    for (const ending of endings) {
      const { tokens } = await runner.request("tokenize", { text: ending, addBos: false });
      continuations.push(tokens);
    }
    await assertLikeEvaluate(context, continuations);
    // And back to fewer choices on the grown set of sequences.
    await assertLikeEvaluate(context, continuations.slice(1, 3));
  });

  it("continuations one token apart (a WinoGrande pair): the longer one's last token too", async () => {
    // Unpadded, the longer continuation's last token was decoded in a batch of its own and came
    // out 1.6e-4 from evaluate's (lm-eval winogrande wg-068 on this model).
    const sentences = ["Anna", "Jack"].map(
      (name) => `Anna ran faster than Jack in the garden, so ${name} lost the race.`,
    );
    const [a, b] = await Promise.all(
      sentences.map(async (text) => (await runner.request("tokenize", { text })).tokens),
    );
    assert.ok(a && b);
    let shared = 0;
    while (a[shared] === b[shared]) shared++;
    assert.notEqual(a.length, b.length);
    await assertLikeEvaluate(a.slice(0, shared), [a.slice(shared), b.slice(shared)]);
  });

  /** scoreChoices gives each continuation the log-probs and greedy flag a whole-sequence evaluate gives. */
  async function assertLikeEvaluate(context: number[], continuations: number[][]): Promise<void> {
    const out = await runner.request("scoreChoices", { context, continuations });
    assert.equal(out.choices.length, continuations.length);
    for (const [i, continuation] of continuations.entries()) {
      const whole = await runner.request("evaluate", {
        tokens: [...context, ...continuation],
        scoreFrom: context.length,
        topK: 1,
      });
      const choice = out.choices[i];
      assert.ok(choice);
      assert.equal(choice.logprobs.length, continuation.length);
      for (const [j, logprob] of choice.logprobs.entries()) {
        const reference = whole.scored[j];
        assert.ok(reference);
        assert.ok(
          Math.abs(logprob - reference.logprob) < 1e-5,
          `choice ${i} token ${j}: ${logprob} vs ${reference.logprob}`,
        );
      }
      const greedy = whole.scored.every((s, j) => s.top?.[0]?.[0] === continuation[j]);
      assert.equal(choice.greedy, greedy, `choice ${i} greedy`);
    }
  }

  it("answers the same twice: no continuation is left behind in the cache", async () => {
    const { tokens: context } = await runner.request("tokenize", { text: "The cat sat on the" });
    const continuations = [
      [1234 % 512, 77],
      [300, 301, 302],
    ];
    const a = await runner.request("scoreChoices", { context, continuations });
    const b = await runner.request("scoreChoices", { context, continuations });
    assert.deepEqual(a.choices, b.choices);
  });

  it("refuses an empty continuation and one past the context", async () => {
    await assert.rejects(
      runner.request("scoreChoices", { context: [1], continuations: [[]] }),
      /at least one token/,
    );
    await assert.rejects(
      runner.request("scoreChoices", {
        context: Array(120).fill(5),
        continuations: [Array(20).fill(5)],
      }),
      /the context holds 128/,
    );
  });
});

describe("llama.cpp runner scoreChoices past its first sequences' size (real process, stories260K F32, ctx 512)", () => {
  let runner: RunnerClient;

  before(async () => {
    const load = { ...LOAD, contextSize: 512, model: model("stories260K-f32.gguf") };
    runner = (await startRunner(resolveRunner("cpu", undefined), load, 60_000)).client;
  });
  after(() => runner.stop());

  it("a short item, then one of 300 tokens: the sequences grow and the log-probs are still evaluate's", async () => {
    const short = await runner.request("scoreChoices", {
      context: [1, 300],
      continuations: [[301]],
    });
    assert.equal(short.choices.length, 1);
    const { tokens: story } = await runner.request("tokenize", {
      text: "Once upon a time, there was a little girl named Lily. She loved to play outside. ".repeat(
        12,
      ),
    });
    const context = story.slice(0, 300);
    const continuations = [story.slice(300, 306), story.slice(310, 313)];
    const out = await runner.request("scoreChoices", { context, continuations });
    for (const [i, continuation] of continuations.entries()) {
      const whole = await runner.request("evaluate", {
        tokens: [...context, ...continuation],
        scoreFrom: context.length,
        topK: 0,
      });
      out.choices[i]?.logprobs.forEach((logprob, j) => {
        const reference = whole.scored[j]?.logprob as number;
        assert.ok(
          Math.abs(logprob - reference) < SPLIT_DECODE_BOUND,
          `choice ${i} token ${j}: ${logprob} vs ${reference} (bound ${SPLIT_DECODE_BOUND} on ${cpuKind()})`,
        );
      });
    }
  });
});
