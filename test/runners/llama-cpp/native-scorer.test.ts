import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RunnerClient } from "../../../src/runner-client/client.js";
import type {
  EvaluateParams,
  LoadParams,
  LoadResult,
} from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { startRunner } from "../../../src/runner-client/start.js";
import { perplexityText } from "../../../src/scoring/perplexity.js";
import { cpuKind } from "../../support/cpu-reference.js";
import { model, ROOT } from "../../support/paths.js";

const LOAD = { backend: "cpu" as const, contextSize: 128, seed: 1, threads: 1 };
const BUILT = existsSync(join(ROOT, "native/build/qbench-scorer.node"));

/**
 * scoreChoices' two paths decode an item in different batch shapes (native: the context and the
 * endings in one batch on one unified KV cache; JS: the context, then the endings over copied
 * streams): per token, the bound test/runners/llama-cpp/choices.test.ts gives this machine's
 * kernels for a split decode (1e-5 with AVX-512 kernels, 3e-3 with AVX2).
 */
const SPLIT_DECODE_BOUND = cpuKind() === "avx512" || cpuKind() === "amx" ? 1e-5 : 3e-3;

/** The HellaSwag-form fixture's items as scoreChoices takes them: BOS + context, " " + each ending. */
function choiceItems(): Array<{ context: string; endings: string[] }> {
  const file = join(ROOT, "test/fixtures/choices/hellaswag.jsonl");
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { ctx: string; endings: string[] })
    .map(({ ctx, endings }) => ({ context: ctx, endings: endings.map((e) => ` ${e}`) }));
}

/** The bundled runner, with the native scorer switched off when `native` is false. */
function runnerCommand(native: boolean) {
  const command = resolveRunner("cpu", undefined);
  if (native) return command;
  return {
    ...command,
    file: "/usr/bin/env",
    args: ["QBENCH_NATIVE_SCORER=0", command.file, ...command.args],
  };
}

/** The same load in two real runners, the native scorer's and the JS path's, and the stories' tokens. */
async function startPair(load: LoadParams) {
  const native = await startRunner(runnerCommand(true), load, 60_000);
  const fallback = await startRunner(runnerCommand(false), load, 60_000);
  const text = perplexityText(readFileSync(join(ROOT, "test/fixtures/ppl/stories.txt"), "utf8"));
  const tokens = (await native.client.request("tokenize", { text })).tokens;
  return { native, fallback, tokens };
}

/** Windows of every shape `evaluate` takes: whole chunks, late scoreFrom, top-K, targets, context + 1. */
function windowsOf(tokens: number[], vocabulary: number): EvaluateParams[] {
  const chunk = (i: number) => tokens.slice(i * LOAD.contextSize, (i + 1) * LOAD.contextSize);
  const windows: EvaluateParams[] = [];
  for (let i = 0; i < 3; i++) windows.push({ tokens: chunk(i), scoreFrom: 1, topK: 0 });
  windows.push({ tokens: chunk(3), scoreFrom: LOAD.contextSize / 2, topK: 0 });
  windows.push({ tokens: chunk(4), scoreFrom: 1, topK: 1 });
  windows.push({ tokens: chunk(5), scoreFrom: 10, topK: 8 });
  // The whole vocabulary as the top-K (a baseline's top-K KLD pass at stories260K's 512).
  windows.push({ tokens: chunk(6).slice(0, 40), scoreFrom: 1, topK: vocabulary });
  const withTargets = chunk(7).slice(0, 50);
  windows.push({
    tokens: withTargets,
    scoreFrom: 5,
    topK: 1,
    targets: withTargets.slice(5).map((t, k) => [t, (k * 37) % vocabulary, 3, vocabulary + 5]),
  });
  // lm-eval's rolling window: one token more than the context, the last only scored.
  windows.push({ tokens: tokens.slice(0, LOAD.contextSize + 1), scoreFrom: 1, topK: 0 });
  windows.push({ tokens: tokens.slice(900, 905), scoreFrom: 1, topK: 3 });
  return windows;
}

for (const file of ["stories260K-q8_0.gguf", "stories260K-q4_0.gguf", "stories260K-f32.gguf"]) {
  describe(`native scorer against node-llama-cpp's JS path (${file}, real runners on CPU)`, {
    skip: BUILT ? false : "native/build/qbench-scorer.node is not built here",
  }, () => {
    let native: { client: RunnerClient; loaded: LoadResult };
    let fallback: { client: RunnerClient; loaded: LoadResult };
    let tokens: number[];

    before(async () => {
      ({ native, fallback, tokens } = await startPair({ ...LOAD, model: model(file) }));
    });
    after(async () => {
      await native?.client.stop();
      await fallback?.client.stop();
    });

    it("says which path scores", () => {
      assert.equal(native.loaded.scorer, "native");
      assert.equal(
        fallback.loaded.scorer,
        "node-llama-cpp (native scorer off: QBENCH_NATIVE_SCORER=0)",
      );
    });

    it("gives the JS path's log-probabilities, top-K and targets, bit for bit", async () => {
      const windows = windowsOf(tokens, native.loaded.vocabularySize);
      for (const [i, window] of windows.entries()) {
        const mine = await native.client.request("evaluate", window);
        const theirs = await fallback.client.request("evaluate", window);
        assert.equal(mine.scored.length, window.tokens.length - window.scoreFrom);
        assert.deepEqual(mine.scored, theirs.scored, `window ${i} differs`);
      }
    });

    it("gives evaluateBatch's one-window and several-window results as the JS path does", async () => {
      const all = windowsOf(tokens, native.loaded.vocabularySize);
      // Every shape but the context + 1 window (evaluateBatch takes windows that fit): uneven
      // lengths, top-K and targets side by side in one batch.
      const windows = all.filter((w) => w.tokens.length <= LOAD.contextSize);
      for (const batch of [windows.slice(0, 1), windows.slice(0, 4), windows]) {
        const mine = await native.client.request("evaluateBatch", { windows: batch });
        const theirs = await fallback.client.request("evaluateBatch", { windows: batch });
        assert.deepEqual(
          mine.results.map((r) => r.scored),
          theirs.results.map((r) => r.scored),
        );
      }
    });

    it("scores choices as the JS path does: every token's log-prob and every greedy flag", async () => {
      let worst = 0;
      let tokensCompared = 0;
      const flagsDiffer: string[] = [];
      for (const [i, item] of choiceItems().entries()) {
        const texts = [item.context, ...item.endings];
        const { batch } = await native.client.request("tokenizeBatch", { texts, addBos: false });
        const [context, ...continuations] = batch as [number[], ...number[][]];
        const params = { context: [native.loaded.bos as number, ...context], continuations };
        const mine = await native.client.request("scoreChoices", params);
        const theirs = await fallback.client.request("scoreChoices", params);
        assert.equal(mine.choices.length, continuations.length);
        mine.choices.forEach((choice, c) => {
          const other = theirs.choices[c];
          assert.ok(other);
          assert.equal(choice.logprobs.length, continuations[c]?.length, `item ${i} choice ${c}`);
          choice.logprobs.forEach((logprob, k) => {
            const difference = Math.abs(logprob - (other.logprobs[k] as number));
            worst = Math.max(worst, difference);
            assert.ok(
              difference <= SPLIT_DECODE_BOUND,
              `item ${i} choice ${c} token ${k}: ${logprob} vs ${other.logprobs[k]}`,
            );
            tokensCompared++;
          });
          if (choice.greedy !== other.greedy) flagsDiffer.push(`item ${i} choice ${c}`);
        });
      }
      assert.ok(tokensCompared > 1000);
      // A greedy flag turns on a near tie of the top two logits, which only the AVX2 kernels'
      // larger rounding differences reach.
      const allowed = SPLIT_DECODE_BOUND > 1e-5 ? 1 : 0;
      assert.ok(flagsDiffer.length <= allowed, `greedy flags differ: ${flagsDiffer.join(", ")}`);
      process.stderr.write(
        `${file} scoreChoices: ${tokensCompared} tokens, worst difference ${worst.toExponential(2)}\n`,
      );
    });

    it("generates greedily as node-llama-cpp's greedy sampler does: the same completions, token for token", async () => {
      const prompts = choiceItems()
        .slice(0, 12)
        .map((item) => item.context);
      let tokensCompared = 0;
      for (const [i, prompt] of prompts.entries()) {
        // After a scoring call, which clears the scorer's cache: greedy decoding starts afresh.
        if (i === 3)
          await native.client.request("evaluate", windowsOf(tokens, 512)[0] as EvaluateParams);
        const params = { prompt, maxTokens: 48, stop: [], temperature: 0, seed: 1 };
        const mine = await native.client.request("generate", params);
        const theirs = await fallback.client.request("generate", params);
        assert.equal(mine.text, theirs.text, `prompt ${i}`);
        assert.equal(mine.completionTokens, theirs.completionTokens, `prompt ${i}`);
        assert.equal(mine.finishReason, theirs.finishReason, `prompt ${i}`);
        tokensCompared += mine.completionTokens;
        // A stop string cuts the same text in both.
        const stop = theirs.text.split(" ").slice(2, 3).join("");
        if (stop.length > 1) {
          const cut = { ...params, stop: [stop] };
          const a = await native.client.request("generate", cut);
          const b = await fallback.client.request("generate", cut);
          assert.deepEqual([a.text, a.finishReason], [b.text, b.finishReason], `prompt ${i} cut`);
        }
      }
      assert.ok(tokensCompared > 200, `${tokensCompared} tokens compared`);
    });

    it("benchmarks through the native greedy loop: every shape answers with its counts, and one past the context is refused", async () => {
      for (const shape of [
        { promptTokens: 32, generateTokens: 16, depth: 0 },
        { promptTokens: 0, generateTokens: 8, depth: 0 },
        { promptTokens: 16, generateTokens: 8, depth: 32 },
        { promptTokens: 16, generateTokens: 0, depth: 0 },
      ]) {
        const out = await native.client.request("benchmark", { ...shape, seed: 3 });
        assert.equal(out.promptTokens, shape.promptTokens);
        assert.equal(out.generatedTokens, shape.generateTokens);
        assert.ok(out.decodeMs >= 0 && out.prefillMs >= 0, JSON.stringify(out));
        if (shape.promptTokens === 0) assert.equal(out.prefillMs, 0);
      }
      const tooLong = { promptTokens: LOAD.contextSize, generateTokens: 8, depth: 0, seed: 3 };
      await assert.rejects(native.client.request("benchmark", tooLong), /CONTEXT_OVERFLOW|exceeds/);
    });
  });
}

describe("native exact KLD against node-llama-cpp's JS path (stories260K Q4_0 vs its F16 reference, real runners on CPU)", {
  skip: BUILT ? false : "native/build/qbench-scorer.node is not built here",
}, () => {
  let native: { client: RunnerClient; loaded: LoadResult };
  let fallback: { client: RunnerClient; loaded: LoadResult };
  let tokens: number[];

  before(async () => {
    ({ native, fallback, tokens } = await startPair({
      ...LOAD,
      model: model("stories260K-q4_0.gguf"),
      reference: model("stories260K-f16.gguf"),
    }));
  });
  after(async () => {
    await native?.client.stop();
    await fallback?.client.stop();
  });

  it("says both models score natively", () => {
    assert.equal(native.loaded.scorer, "native (its reference too)");
    assert.equal(
      fallback.loaded.scorer,
      "node-llama-cpp (native scorer off: QBENCH_NATIVE_SCORER=0)",
    );
  });

  // The same double arithmetic in the same order on the same float logits (native/scorer.cc's
  // GridOf and KldOf, full-kld.ts's toGrid and kldAgainstGrid), with the C library's exp and log in
  // C++ and V8's in JavaScript, which differ in the last bit now and then: equal to 1e-12.
  it("gives every position's KLD, same-top and both log-probabilities as the JS path (to 1e-12)", async () => {
    const windows = [
      { tokens: tokens.slice(0, LOAD.contextSize), scoreFrom: LOAD.contextSize / 2 },
      { tokens: tokens.slice(LOAD.contextSize, 2 * LOAD.contextSize), scoreFrom: 1 },
      { tokens: tokens.slice(500, 520), scoreFrom: 7 },
    ];
    let worst = 0;
    for (const [i, window] of windows.entries()) {
      const params = { ...window, topK: 0, reference: true };
      const mine = await native.client.request("evaluate", params);
      const theirs = await fallback.client.request("evaluate", params);
      assert.equal(mine.scored.length, window.tokens.length - window.scoreFrom);
      assert.ok(
        mine.scored.every((s) => (s.kld ?? Number.NaN) > -1e-3 && s.referenceLogprob !== undefined),
      );
      mine.scored.forEach((position, k) => {
        const other = theirs.scored[k];
        assert.ok(other);
        assert.equal(position.sameTop, other.sameTop, `window ${i} position ${k}: same top`);
        for (const key of ["logprob", "referenceLogprob", "kld"] as const) {
          const a = position[key] as number;
          const b = other[key] as number;
          const difference = Math.abs(a - b);
          worst = Math.max(worst, difference / Math.max(Math.abs(b), 1e-300));
          assert.ok(
            difference <= 1e-12 * Math.abs(b) + 1e-300,
            `window ${i} position ${k}: ${key} ${a} vs ${b}`,
          );
        }
      });
    }
    process.stderr.write(
      `exact KLD native vs JS: worst relative difference ${worst.toExponential(2)}\n`,
    );
  });
});
