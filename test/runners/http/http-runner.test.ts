import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RunnerFailure } from "../../../src/errors.js";
import type { LoadParams } from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { type StartedRunner, startRunner } from "../../../src/runner-client/start.js";
import { OpenAiTestServer, wordPieces } from "../../support/openai-server.js";
import { model } from "../../support/paths.js";

const MODEL = model("stories260K-f16.gguf");
const GENERATE = { prompt: "Once upon a time", maxTokens: 24, stop: [], temperature: 0 };

function loadParams(url: string, options: Record<string, unknown> = {}): LoadParams {
  return {
    model: "stories-test",
    backend: "cpu",
    contextSize: 256,
    seed: 1,
    threads: 1,
    options: { baseUrl: url, ...options },
  };
}

function startHttp(url: string, options: Record<string, unknown> = {}): Promise<StartedRunner> {
  return startRunner(resolveRunner("cpu", "http"), loadParams(url, options), 30_000);
}

/** Asserts a request fails with a protocol error of this data.code. */
async function failsWith(work: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(work, (e) => {
    assert.ok(e instanceof RunnerFailure, String(e));
    assert.equal(e.kind, "error");
    assert.equal(e.runnerCode, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe("http runner against the OpenAI-compatible test server (real llama.cpp tokens, streamed by word)", () => {
  let server: OpenAiTestServer;
  let direct: StartedRunner;
  let http: StartedRunner;

  before(async () => {
    server = await OpenAiTestServer.start({ model: MODEL });
    direct = await startRunner(
      resolveRunner("cpu", undefined),
      { model: MODEL, backend: "cpu", contextSize: 256, seed: 1, threads: 1 },
      60_000,
    );
    // The test server speaks vLLM's tokenize and prompt_logprobs shapes: say so.
    http = await startHttp(server.url, { server: "vllm", retryBaseMs: 20 });
  });
  after(async () => {
    await http?.client.stop();
    await direct?.client.stop();
    await server?.close();
  });

  it("loads: names the server, its context and the model's BOS from the server's tokenizer", () => {
    assert.equal(http.init.name, "http");
    assert.equal(http.loaded.device, `vllm at ${server.url}`);
    assert.equal(http.loaded.contextSize, 256);
    assert.equal(http.loaded.addBos, true);
    assert.equal(http.loaded.bos, 1);
  });

  it("generates the same greedy text as the in-process runner, counts from usage, timed from the stream", async () => {
    const want = await direct.client.request("generate", GENERATE);
    const got = await http.client.request("generate", GENERATE);
    assert.equal(got.text, want.text);
    assert.match(got.text, /^, there was a little girl named Lily/);
    assert.equal(got.completionTokens, 24);
    assert.equal(got.promptTokens, 5);
    assert.equal(got.finishReason, "length");
    assert.equal(got.tokenizeMs, 0);
    assert.ok(got.ttftMs > 0 && got.ttftMs <= got.totalMs);
    assert.ok(got.decodeMs >= 0 && got.ttftMs + got.decodeMs <= got.totalMs + 1e-6);
  });

  it("passes stop strings through and maps finish reasons (stop string vs EOS)", async () => {
    const stopped = await http.client.request("generate", {
      ...GENERATE,
      maxTokens: 64,
      stop: ["Lily"],
    });
    assert.equal(stopped.finishReason, "stop");
    assert.equal(stopped.text, ", there was a little girl named ");
    const direct64 = await direct.client.request("generate", { ...GENERATE, maxTokens: 200 });
    const http64 = await http.client.request("generate", { ...GENERATE, maxTokens: 200 });
    assert.equal(http64.finishReason, direct64.finishReason);
    assert.equal(http64.text, direct64.text);
  });

  it("tokenizes with the server's tokenizer, BOS on request", async () => {
    const { tokens } = await http.client.request("tokenize", { text: "Once upon a time" });
    assert.deepEqual(tokens, [1, 403, 407, 261, 378]);
    const bare = await http.client.request("tokenize", { text: "Once upon a time", addBos: false });
    assert.deepEqual(bare.tokens, [403, 407, 261, 378]);
  });

  it("evaluates prompt tokens through vLLM's prompt_logprobs exactly as the in-process runner", async () => {
    const { tokens } = await direct.client.request("tokenize", {
      text: "Once upon a time, there was a little girl named Lily.",
    });
    const params = { tokens, scoreFrom: 3, topK: 4 };
    const want = await direct.client.request("evaluate", params);
    const got = await http.client.request("evaluate", params);
    assert.equal(got.scored.length, tokens.length - 3);
    assert.deepEqual(
      got.scored.map((s) => [s.logprob, s.top]),
      want.scored.map((s) => [s.logprob, s.top]),
    );
  });

  it("evaluates through SGLang's native /generate the same way", async () => {
    const sglang = await startHttp(server.url, { server: "sglang" });
    try {
      const { tokens } = await direct.client.request("tokenize", {
        text: "One day, Lily went to the park.",
      });
      const params = { tokens, scoreFrom: 1, topK: 2 };
      const want = await direct.client.request("evaluate", params);
      const got = await sglang.client.request("evaluate", params);
      assert.deepEqual(
        got.scored.map((s) => [s.logprob, s.top]),
        want.scored.map((s) => [s.logprob, s.top]),
      );
    } finally {
      await sglang.client.stop();
    }
  });

  it("says which metrics a server cannot give (UNSUPPORTED), naming the server", async () => {
    const unknown = await startHttp(server.url);
    try {
      assert.equal(unknown.loaded.device, `openai at ${server.url}`);
      await failsWith(
        unknown.client.request("evaluate", { tokens: [1, 403, 407], scoreFrom: 1, topK: 0 }),
        "UNSUPPORTED",
        /openai at http:\/\/127\.0\.0\.1:\d+ cannot give perplexity or KLD/,
      );
      await failsWith(
        unknown.client.request("tokenize", { text: "x" }),
        "UNSUPPORTED",
        /no tokenize endpoint/,
      );
      // Generation still works where scoring cannot.
      const out = await unknown.client.request("generate", GENERATE);
      assert.equal(out.completionTokens, 24);
    } finally {
      await unknown.client.stop();
    }
    await failsWith(
      http.client.request("evaluate", {
        tokens: [1, 403, 407],
        scoreFrom: 1,
        topK: 0,
        targets: [[403], [407]],
      }),
      "UNSUPPORTED",
      /cannot give KLD against a baseline/,
    );
  });

  it("uses /v1/chat/completions when chat is set", async () => {
    const chat = await startHttp(server.url, { chat: true });
    try {
      const before = server.completionRequests;
      const out = await chat.client.request("generate", GENERATE);
      assert.equal(server.completionRequests, before + 1);
      assert.equal(out.text, (await direct.client.request("generate", GENERATE)).text);
      assert.equal(out.completionTokens, 24);
    } finally {
      await chat.client.stop();
    }
  });

  it("counts stream events when the server sends no usage", async () => {
    server.inject({ omitUsage: true });
    const out = await http.client.request("generate", GENERATE);
    assert.equal(out.completionTokens, wordPieces(out.text).length);
    // The prompt's length then comes from the server's tokenizer.
    assert.equal(out.promptTokens, 5);
  });

  it("retries 429 and 503 with backoff, then succeeds", async () => {
    const before = server.completionRequests;
    server.inject({ status: 429 });
    server.inject({ status: 503, retryAfter: 0 });
    const out = await http.client.request("generate", GENERATE);
    assert.equal(out.completionTokens, 24);
    assert.equal(server.completionRequests, before + 3);
  });

  it("fails the item on 500 without retrying; the runner goes on", async () => {
    const before = server.completionRequests;
    server.inject({ status: 500 });
    await failsWith(
      http.client.request("generate", GENERATE),
      "SERVER_ERROR",
      /answered 500: injected 500/,
    );
    assert.equal(server.completionRequests, before + 1);
    assert.equal((await http.client.request("generate", GENERATE)).completionTokens, 24);
  });

  it("fails the item when 429s outlast the retries", async () => {
    const few = await startHttp(server.url, { retries: 1, retryBaseMs: 10 });
    try {
      server.inject({ status: 429, times: 2 });
      await failsWith(
        few.client.request("generate", GENERATE),
        "SERVER_ERROR",
        /answered 429 after 2 attempts/,
      );
    } finally {
      await few.client.stop();
    }
  });

  it("fails the item with CONNECTION_LOST when the server drops the stream; the runner goes on", async () => {
    server.inject({ dropAfterEvents: 3 });
    await failsWith(http.client.request("generate", GENERATE), "CONNECTION_LOST", /3 token events/);
    assert.equal((await http.client.request("generate", GENERATE)).completionTokens, 24);
  });

  it("fails the item with REQUEST_TIMEOUT past the per-request timeout", async () => {
    const quick = await startHttp(server.url, { timeoutSeconds: 0.3 });
    try {
      server.inject({ delayMs: 3000 });
      const started = performance.now();
      await failsWith(
        quick.client.request("generate", GENERATE),
        "REQUEST_TIMEOUT",
        /within 300 ms/,
      );
      assert.ok(performance.now() - started < 2500);
      // The server still finishes the abandoned request; wait, so later counts start clean.
      while (server.inFlight > 0) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await quick.client.stop();
    }
  });

  it("serves several generate requests at once with concurrency > 1, answering in order", async () => {
    const wide = await startHttp(server.url, { concurrency: 4 });
    try {
      server.maxInFlight = 0;
      // Each request waits at the server a while, so all four overlap there for certain.
      server.inject({ delayMs: 300, times: 4 });
      const prompts = ["Once upon a time", "One day, Lily", "The little dog", "Tom and his mom"];
      const outs = await Promise.all(
        prompts.map((prompt) => wide.client.request("generate", { ...GENERATE, prompt })),
      );
      assert.equal(server.maxInFlight, 4);
      for (const [i, prompt] of prompts.entries()) {
        const want = await direct.client.request("generate", { ...GENERATE, prompt });
        assert.equal(outs[i]?.text, want.text);
      }
    } finally {
      await wide.client.stop();
    }
    server.maxInFlight = 0;
    server.inject({ delayMs: 100, times: 3 });
    await Promise.all([1, 2, 3].map(() => http.client.request("generate", GENERATE)));
    assert.equal(server.maxInFlight, 1);
  });
});

describe("http runner settings and unreachable servers", () => {
  it("rejects a load without a base URL, or with unknown options (BAD_PARAMS)", async () => {
    const noUrl = startRunner(
      resolveRunner("cpu", "http"),
      { model: "m", backend: "cpu", contextSize: 64, seed: 1, threads: 1 },
      10_000,
    );
    await failsWith(noUrl, "BAD_PARAMS", /options\.baseUrl is required/);
    await failsWith(
      startHttp("http://127.0.0.1:9", { colour: "red" }),
      "BAD_PARAMS",
      /unknown option\(s\) colour/,
    );
    await failsWith(
      startHttp("http://127.0.0.1:9", { apiKeyEnv: "QBENCH_TEST_NO_SUCH_VAR" }),
      "BAD_PARAMS",
      /is not set/,
    );
  });

  it("fails the load with CONNECTION_LOST when nothing listens", async () => {
    await failsWith(
      startHttp("http://127.0.0.1:9"),
      "CONNECTION_LOST",
      /no OpenAI-compatible server answers/,
    );
  });
});
