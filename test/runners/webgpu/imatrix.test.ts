import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RunnerFailure } from "../../../src/errors.js";
import type { RunnerClient } from "../../../src/runner-client/client.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { startRunner } from "../../../src/runner-client/start.js";
import { model } from "../../support/paths.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;

describe("WebGPU runner collectImatrix (real process, stories260K F32)", { skip }, () => {
  let runner: RunnerClient;
  const chunk = (seed: number) => Array.from({ length: 40 }, (_, i) => (seed * 31 + i * 7) % 512);
  const collect = (chunks: number[][], flags: { reset?: boolean; read?: boolean } = {}) =>
    runner.request("collectImatrix", { chunks, ...flags });

  before(async () => {
    const started = await startRunner(
      resolveRunner("webgpu", undefined),
      {
        model: model("stories260K-f32.gguf"),
        backend: "webgpu",
        contextSize: 64,
        seed: 0,
        threads: 0,
      },
      60_000,
    );
    runner = started.client;
    assert.ok(started.init.capabilities.includes("imatrix"));
  });
  after(() => runner.stop());

  it("sums over calls as over one; a read ends the collection, reset discards it", async () => {
    const one = await collect([chunk(1), chunk(2)], { reset: true, read: true });
    await collect([chunk(1)], { reset: true });
    const two = await collect([chunk(2)], { read: true });
    assert.equal(one.tokens, 80);
    assert.deepEqual(two, { ...one, evalMs: two.evalMs });
    // Each of the 5 layers: q, k, v, output, gate, up, down.
    assert.equal(one.matrices?.length, 35);
    const q = one.matrices?.find((m) => m.name === "blk.0.attn_q.weight");
    assert.deepEqual(q?.counts, [80]);
    assert.equal(q?.sums.length, 64);
    assert.ok(q?.sums.every((s) => s > 0));
    // After a read the next call starts afresh; reset drops what was summed.
    const fresh = await collect([chunk(2)], { read: true });
    assert.equal(fresh.tokens, 40);
    await collect([chunk(1)]);
    const reset = await collect([chunk(2)], { reset: true, read: true });
    assert.deepEqual(reset, { ...fresh, evalMs: reset.evalMs });
  });

  it("leaves evaluate's log-probabilities as they were (the kernels only read)", async () => {
    const tokens = [1, ...chunk(3).slice(1)];
    const before = await runner.request("evaluate", { tokens, scoreFrom: 1, topK: 0 });
    await collect([chunk(4)], { reset: true });
    const during = await runner.request("evaluate", { tokens, scoreFrom: 1, topK: 0 });
    await collect([chunk(5)], { read: true });
    const afterwards = await runner.request("evaluate", { tokens, scoreFrom: 1, topK: 0 });
    const logprobs = (r: typeof before) => r.scored.map((s) => s.logprob);
    assert.deepEqual(logprobs(during), logprobs(before));
    assert.deepEqual(logprobs(afterwards), logprobs(before));
  });

  it("refuses an empty chunk, a chunk past the context and a token outside the vocabulary", async () => {
    const code = (c: string) => (e: unknown) => e instanceof RunnerFailure && e.runnerCode === c;
    await assert.rejects(collect([[]]), code("BAD_PARAMS"));
    await assert.rejects(collect([Array(65).fill(1)]), code("CONTEXT_OVERFLOW"));
    await assert.rejects(collect([[1, 512]]), code("BAD_PARAMS"));
  });
});
