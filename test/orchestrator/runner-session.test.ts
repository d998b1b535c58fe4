import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { RunnerFailure } from "../../src/errors.js";
import { RunnerSession, type RunnerSpec } from "../../src/orchestrator/runner-session.js";
import { SUPPORT } from "../support/paths.js";

/** The test runner that exits mid-generate: a real process, so restarts are real spawns. */
const CRASHER: RunnerSpec = {
  command: {
    name: "fake-crash",
    file: process.execPath,
    args: [join(SUPPORT, "fake-runners.js"), "crash"],
  },
  load: { model: "unused.gguf", backend: "cpu", contextSize: 64, seed: 0, threads: 1 },
  loadTimeoutMs: 10_000,
};

const alive = (pid: number | undefined): boolean => {
  try {
    return pid !== undefined && process.kill(pid, 0);
  } catch {
    return false;
  }
};

describe("RunnerSession: the one place a runner starts (test runner processes)", () => {
  it("starts on first use, keeps the runner after an item error, starts anew after a crash, stops on close", async () => {
    const starts: Array<number | undefined> = [];
    const session = new RunnerSession(CRASHER, {
      onStart: (started) => starts.push(started.client.pid),
    });
    const first = await session.runner();
    assert.equal(await session.runner(), first, "a live runner is reused");
    session.failed(new RunnerFailure("error", "the item's own fault"));
    assert.equal(await session.runner(), first, "an item error leaves the runner usable");

    const crash = await first.client
      .request("generate", { prompt: "x", maxTokens: 1, stop: [], temperature: 0 }, 10_000)
      .catch((error: unknown) => error);
    assert.ok(crash instanceof RunnerFailure && crash.kind === "crash", String(crash));
    session.failed(crash);
    const second = await session.runner();
    assert.notEqual(second.client.pid, first.client.pid, "a crash costs a new process");
    assert.deepEqual(starts, [first.client.pid, second.client.pid]);

    await session.close();
    assert.equal(alive(second.client.pid), false, "close stops the runner");
  });

  it("an aborted signal kills the runner in flight", async () => {
    const stop = new AbortController();
    const session = new RunnerSession(CRASHER, { signal: stop.signal });
    const { client } = await session.runner();
    stop.abort("SIGINT");
    const after = await client.request("memory", {}, 10_000).catch((error: unknown) => error);
    assert.ok(after instanceof RunnerFailure, String(after));
    await session.close();
    assert.equal(alive(client.pid), false);
  });
});
