import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { RunnerFailure } from "../../../src/errors.js";
import {
  type ManagedServer,
  startManagedServer,
} from "../../../src/runner-client/managed-server.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { type StartedRunner, startRunner } from "../../../src/runner-client/start.js";
import { model } from "../../support/paths.js";

// A llama-server built from the llama.cpp sources inside node-llama-cpp, where one was built
// (not in CI, which must not build llama.cpp): then these tests run against the real thing.
const LLAMA_SERVER = process.env.QBENCH_LLAMA_SERVER ?? "/opt/llama.cpp-ref/build/bin/llama-server";
const MODEL = model("stories260K-f16.gguf");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe("http runner against a real llama-server (managed), where one is built", {
  skip: existsSync(LLAMA_SERVER) ? false : `no llama-server at ${LLAMA_SERVER}`,
}, () => {
  let server: ManagedServer;
  let http: StartedRunner;
  let direct: StartedRunner;

  before(async () => {
    const port = await freePort();
    server = await startManagedServer({
      command: [
        LLAMA_SERVER,
        "-m",
        MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "-c",
        "256",
        "-t",
        "1",
      ],
      url: `http://127.0.0.1:${port}`,
      readyTimeoutSeconds: 60,
    });
    http = await startRunner(
      resolveRunner("cpu", "http"),
      { model: server.url, backend: "cpu", contextSize: 256, seed: 1, threads: 1 },
      30_000,
    );
    direct = await startRunner(
      resolveRunner("cpu", undefined),
      { model: MODEL, backend: "cpu", contextSize: 256, seed: 1, threads: 1 },
      60_000,
    );
  });
  after(async () => {
    await http?.client.stop();
    await direct?.client.stop();
    await server?.stop();
  });

  it("detects llama-server and reads the model's facts from /v1/models", () => {
    assert.equal(http.loaded.device, `llama-server at ${server.url}`);
    assert.equal(http.loaded.parameterCount, 292_800);
    assert.equal(http.loaded.vocabularySize, 512);
    assert.equal(http.loaded.contextSize, 256);
    assert.equal(http.loaded.bos, 1);
  });

  it("generates greedily the same text as the in-process llama.cpp runner", async () => {
    const params = { prompt: "Once upon a time", maxTokens: 32, stop: [], temperature: 0 };
    const want = await direct.client.request("generate", params);
    const got = await http.client.request("generate", params);
    assert.equal(got.text, want.text);
    assert.equal(got.completionTokens, 32);
    assert.equal(got.promptTokens, want.promptTokens);
    // Tokens can reach the client in one burst (a busy machine), so decode time may be 0.
    assert.ok(got.ttftMs > 0 && got.decodeMs >= 0 && got.ttftMs + got.decodeMs <= got.totalMs);
  });

  it("tokenizes as the in-process runner does", async () => {
    const text = "One day, Lily went to the park.";
    const want = await direct.client.request("tokenize", { text });
    assert.deepEqual((await http.client.request("tokenize", { text })).tokens, want.tokens);
  });

  it("cannot evaluate prompt tokens, and says so", async () => {
    await assert.rejects(
      http.client.request("evaluate", { tokens: [1, 403, 407], scoreFrom: 1, topK: 0 }),
      (e) =>
        e instanceof RunnerFailure &&
        e.runnerCode === "UNSUPPORTED" &&
        /llama-server at .* cannot give perplexity or KLD: its \/v1\/completions ignores `echo`/.test(
          e.message,
        ),
    );
  });
});
