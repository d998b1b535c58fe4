import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BadRunnerResponse, RunnerFailure } from "../../src/errors.js";
import { RunnerClient } from "../../src/runner-client/client.js";
import { SUPPORT } from "../support/paths.js";

const fake = (mode: string) =>
  RunnerClient.start({
    name: `fake-${mode}`,
    file: process.execPath,
    args: [join(SUPPORT, "fake-runners.js"), mode],
  });

const GENERATE = { prompt: "x", maxTokens: 1, stop: [], temperature: 0 };

describe("runner client (test runners that misbehave on purpose)", () => {
  it("turns a runner that exits mid-item into a crash failure with its stderr", async () => {
    const client = fake("crash");
    await client.request("initialize", {});
    await assert.rejects(client.request("generate", GENERATE, 10_000), (e) => {
      assert.ok(e instanceof RunnerFailure);
      assert.equal(e.kind, "crash");
      assert.match(e.message, /exited with code 7 during generate/);
      assert.match(e.stderrTail, /about to crash mid-item/);
      return true;
    });
    await assert.rejects(client.request("memory", {}), /exited with code 7 before memory/);
  });

  it("kills a runner that hangs past the timeout", async () => {
    const client = fake("hang");
    await client.request("initialize", {});
    const started = performance.now();
    await assert.rejects(client.request("generate", GENERATE, 500), (e) => {
      assert.ok(e instanceof RunnerFailure);
      assert.equal(e.kind, "timeout");
      return true;
    });
    assert.ok(performance.now() - started < 5000);
    await client.stop();
  });

  it("passes JSON-RPC errors through with their code", async () => {
    const client = fake("bad-load");
    await assert.rejects(
      client.request("load", { model: "m", backend: "cpu", contextSize: 16, seed: 0, threads: 1 }),
      (e) => e instanceof RunnerFailure && e.kind === "error" && e.runnerCode === "OUT_OF_MEMORY",
    );
    await client.stop();
  });
});

describe("malformed results (a test runner that breaks the protocol on purpose, one method at a time)", () => {
  const LOAD = { model: "m", backend: "cpu" as const, contextSize: 16, seed: 0, threads: 1 };
  const cases = [
    { mode: "initialize", method: "initialize", field: "backends" },
    { mode: "load", method: "load", field: "contextSize" },
    { mode: "generate", method: "generate", field: "completionTokens" },
    { mode: "tokenize", method: "tokenize", field: "tokens[2]" },
    { mode: "evaluate", method: "evaluate", field: "scored[1].logprob" },
    { mode: "evaluate-top", method: "evaluate", field: "scored[0].top[1]" },
    { mode: "evaluate-count", method: "evaluate", field: "scored" },
    { mode: "memory", method: "memory", field: "rss" },
    { mode: "benchmark", method: "benchmark", field: "decodeMs" },
  ] as const;
  const call = (client: RunnerClient, method: (typeof cases)[number]["method"], mode: string) => {
    switch (method) {
      case "initialize":
        return client.request("initialize", {});
      case "load":
        return client.request("load", LOAD);
      case "generate":
        return client.request("generate", GENERATE);
      case "tokenize":
        return client.request("tokenize", { text: "abc" });
      case "evaluate":
        return client.request("evaluate", {
          tokens: mode === "evaluate-top" ? [0, 1] : [0, 1, 2],
          scoreFrom: 1,
          topK: 2,
        });
      case "memory":
        return client.request("memory", {});
      case "benchmark":
        return client.request("benchmark", {
          promptTokens: 4,
          generateTokens: 2,
          depth: 0,
          seed: 1,
        });
    }
  };

  for (const { mode, method, field } of cases) {
    it(`${mode}: fails with BAD_RUNNER_RESPONSE naming ${method} and ${field}; the runner lives on`, async () => {
      const client = fake(`malformed-${mode}`);
      try {
        if (method !== "initialize") await client.request("initialize", {});
        if (method !== "initialize" && method !== "load") await client.request("load", LOAD);
        await assert.rejects(call(client, method, mode), (e) => {
          assert.ok(e instanceof BadRunnerResponse, `expected BadRunnerResponse, got ${e}`);
          assert.ok(e instanceof RunnerFailure);
          assert.equal(e.code, "BAD_RUNNER_RESPONSE");
          assert.equal(e.runnerCode, "BAD_RUNNER_RESPONSE");
          assert.equal(e.kind, "error");
          assert.equal(e.method, method);
          assert.equal(e.field, field);
          const quoted = field.replace(/[[\].]/g, (c) => `\\${c}`);
          assert.match(
            e.message,
            new RegExp(
              `^runner fake-malformed-${mode} answered ${method} with a malformed result: ${quoted}: `,
            ),
          );
          return true;
        });
        // A bad answer is the runner's fault but not a crash: its next request is served.
        const after = await client.request("tokenize", { text: "ab" }).catch((e: Error) => e);
        if (method === "tokenize") assert.ok(after instanceof BadRunnerResponse);
        else assert.deepEqual(after, { tokens: [97 % 3, 98 % 3] });
      } finally {
        await client.stop();
      }
    });
  }
});
