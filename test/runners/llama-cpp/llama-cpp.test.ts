import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RunnerFailure } from "../../../src/errors.js";
import type { RunnerClient } from "../../../src/runner-client/client.js";
import type { LoadResult } from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { startRunner } from "../../../src/runner-client/start.js";
import { perplexityText } from "../../../src/scoring/perplexity.js";
import { model, ROOT } from "../../support/paths.js";

const LOAD = { backend: "cpu" as const, contextSize: 128, seed: 1, threads: 1 };

describe("llama.cpp runner (real process, stories260K F32 on CPU)", () => {
  let runner: RunnerClient;
  let loaded: LoadResult;

  before(async () => {
    const started = await startRunner(
      resolveRunner("cpu", undefined),
      { ...LOAD, model: model("stories260K-f32.gguf") },
      60_000,
    );
    runner = started.client;
    loaded = started.loaded;
    assert.equal(started.init.name, "llama-cpp");
    assert.match(started.init.engine, /^node-llama-cpp \d+\.\d+\.\d+/);
  });
  after(() => runner.stop());

  it("loads the model and reports what it loaded", () => {
    assert.equal(loaded.backend, "cpu");
    assert.equal(loaded.parameterCount, 292_800);
    assert.equal(loaded.vocabularySize, 512);
    assert.deepEqual(loaded.tensorTypes, { F32: 48 });
    assert.equal(loaded.addBos, true);
    assert.equal(loaded.bos, 1);
  });

  it("says whether llama.cpp is node-llama-cpp's prebuilt binary or a build made on this machine", () => {
    assert.match(loaded.engineBuild ?? "", /^(prebuilt binary|local build)$/);
  });

  it("tokenizes with BOS first, and without it on request", async () => {
    const { tokens } = await runner.request("tokenize", { text: "Once upon a time" });
    assert.equal(tokens[0], 1);
    const bare = await runner.request("tokenize", { text: "Once upon a time", addBos: false });
    assert.deepEqual(bare.tokens, tokens.slice(1));
  });

  it("tokenizes exactly as llama.cpp's llama-tokenize does (ids in test/fixtures/ppl)", async () => {
    const fixtures = join(ROOT, "test/fixtures/ppl");
    const ref = JSON.parse(readFileSync(join(fixtures, "reference.json"), "utf8")) as {
      token_ids: number[];
    };
    const text = perplexityText(readFileSync(join(fixtures, "stories.txt"), "utf8"));
    const { tokens } = await runner.request("tokenize", { text });
    assert.equal(tokens.length, 3962);
    assert.deepEqual(tokens, ref.token_ids);
  });

  it("generates greedily and deterministically, with timings from inside the runner", async () => {
    const params = { prompt: "Once upon a time", maxTokens: 24, stop: [], temperature: 0 };
    const a = await runner.request("generate", params);
    const b = await runner.request("generate", params);
    assert.equal(a.text, b.text);
    assert.match(a.text, /^, there was a little girl named Lily/);
    assert.equal(a.completionTokens, 24);
    assert.equal(a.finishReason, "length");
    assert.equal(a.promptTokens, 5);
    assert.ok(a.ttftMs > 0 && a.ttftMs <= a.totalMs);
    assert.ok(a.decodeMs > 0 && a.decodeMs < a.totalMs);
    assert.ok(a.tokenizeMs >= 0 && a.tokenizeMs < a.ttftMs);
  });

  it("stops at a stop string and cuts it off", async () => {
    const out = await runner.request("generate", {
      prompt: "Once upon a time",
      maxTokens: 64,
      stop: ["Lily"],
      temperature: 0,
    });
    assert.equal(out.finishReason, "stop");
    assert.equal(out.text, ", there was a little girl named ");
  });

  it("evaluates log-probabilities of the actual tokens and a sorted top-K", async () => {
    const { tokens } = await runner.request("tokenize", {
      text: "Lily went to the park. She saw a big dog.",
    });
    const out = await runner.request("evaluate", { tokens, scoreFrom: 1, topK: 5 });
    assert.equal(out.scored.length, tokens.length - 1);
    for (const [i, s] of out.scored.entries()) {
      assert.ok(s.logprob <= 0, `logprob ${s.logprob} at ${i}`);
      const top = s.top ?? [];
      assert.equal(top.length, 5);
      for (let k = 1; k < top.length; k++) assert.ok((top[k - 1]?.[1] ?? 0) >= (top[k]?.[1] ?? 0));
      // The top-K are log-probabilities of one distribution: they sum to at most 1.
      assert.ok(top.reduce((sum, [, lp]) => sum + Math.exp(lp), 0) <= 1 + 1e-6);
      const actual = tokens[i + 1];
      const inTop = top.find(([id]) => id === actual);
      if (inTop) assert.ok(Math.abs(inTop[1] - s.logprob) < 1e-9);
    }
    const later = await runner.request("evaluate", { tokens, scoreFrom: 6, topK: 0 });
    assert.equal(later.scored.length, tokens.length - 6);
    for (const [i, s] of later.scored.entries()) {
      assert.ok(Math.abs(s.logprob - (out.scored[i + 5]?.logprob ?? 0)) < 1e-4);
    }
  });

  it("evaluates several windows side by side (evaluateBatch) exactly as one evaluate each", async () => {
    const texts = [
      "Lily went to the park. She saw a big dog.",
      "Once upon a time, there was a little boy named Tom.",
      "The sun was hot and the bird sang a song.",
    ];
    const windows = [];
    for (const [i, text] of texts.entries()) {
      const { tokens } = await runner.request("tokenize", { text });
      const scoreFrom = 1 + i;
      // The second window asks for targets (a variant's top-K KLD pass), the others a top-K.
      const targets =
        i === 1 ? tokens.slice(scoreFrom).map((t, k) => [t, (k * 7) % 512, 3]) : undefined;
      windows.push({ tokens, scoreFrom, topK: i === 1 ? 1 : 4, ...(targets ? { targets } : {}) });
    }
    const one = [];
    for (const window of windows) one.push(await runner.request("evaluate", window));
    const batch = await runner.request("evaluateBatch", { windows });
    assert.equal(batch.results.length, windows.length);
    for (const [i, result] of batch.results.entries()) {
      assert.deepEqual(
        result.scored,
        one[i]?.scored,
        `window ${i}: the batch's scores differ from evaluate's`,
      );
    }
    await assert.rejects(
      runner.request("evaluateBatch", {
        windows: [windows[0] as (typeof windows)[0], { tokens: [1, 2], scoreFrom: 0, topK: 0 }],
      }),
      /windows\[1\]: scoreFrom/,
    );
  });

  it("reports memory: RSS and its peak, no device figure on CPU", async () => {
    const mem = await runner.request("memory", {});
    assert.ok(mem.rss > 10 * 1024 * 1024);
    assert.ok((mem.peakRss ?? 0) >= mem.rss);
    assert.equal(mem.device, undefined);
  });

  it("evaluate takes one token more than the context (only scored, never decoded: lm-eval's full rolling window) and no more", async () => {
    // llama.cpp's context is at least 256 here; the plan's 128 is the size enforced.
    const tokens = Array.from({ length: LOAD.contextSize + 1 }, (_, i) => 1 + ((i * 7) % 200));
    const full = await runner.request("evaluate", { tokens, scoreFrom: 1, topK: 0 });
    assert.equal(full.scored.length, LOAD.contextSize);
    // Its positions are the same whole-sequence evaluate's as a window one token shorter.
    const shorter = await runner.request("evaluate", {
      tokens: tokens.slice(0, -1),
      scoreFrom: 1,
      topK: 0,
    });
    assert.deepEqual(
      full.scored.slice(0, -1).map((s) => s.logprob),
      shorter.scored.map((s) => s.logprob),
    );
    assert.ok(Number.isFinite(full.scored.at(-1)?.logprob));
    await assert.rejects(
      runner.request("evaluate", { tokens: [...tokens, 1], scoreFrom: 1, topK: 0 }),
      /129 tokens to evaluate; the context holds 128/,
    );
  });

  it("answers bad requests with stable error codes", async () => {
    const tooLong = Array.from({ length: 300 }, () => 1);
    await assert.rejects(
      runner.request("evaluate", { tokens: tooLong, scoreFrom: 1, topK: 0 }),
      (e) => {
        assert.ok(e instanceof RunnerFailure);
        assert.equal(e.runnerCode, "CONTEXT_OVERFLOW");
        return true;
      },
    );
    await assert.rejects(
      runner.request("evaluate", { tokens: [1, 2], scoreFrom: 0, topK: 0 }),
      /scoreFrom/,
    );
  });
});

describe("llama.cpp runner failures", () => {
  it("refuses a missing model with MODEL_NOT_FOUND", async () => {
    await assert.rejects(
      startRunner(
        resolveRunner("cpu", undefined),
        { ...LOAD, model: "/nonexistent/model.gguf" },
        60_000,
      ),
      (e) => e instanceof RunnerFailure && e.runnerCode === "MODEL_NOT_FOUND",
    );
  });
});
