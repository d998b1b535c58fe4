import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { RunnerFailure } from "../../src/errors.js";
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
