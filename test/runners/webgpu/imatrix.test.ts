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
  const collect = (
    chunks: number[][],
    flags: { reset?: boolean; read?: boolean; f16Inputs?: boolean } = {},
  ) => runner.request("collectImatrix", { chunks, ...flags });

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

  it("f16Inputs changes nothing on F32 weights (only F16 matmuls take a rounded input)", async () => {
    const plain = await collect([chunk(6)], { reset: true, read: true });
    const rounded = await collect([chunk(6)], { reset: true, read: true, f16Inputs: true });
    assert.deepEqual(rounded.matrices, plain.matrices);
  });

  it("refuses an empty chunk, a chunk past the context and a token outside the vocabulary", async () => {
    const code = (c: string) => (e: unknown) => e instanceof RunnerFailure && e.runnerCode === c;
    await assert.rejects(collect([[]]), code("BAD_PARAMS"));
    await assert.rejects(collect([Array(65).fill(1)]), code("CONTEXT_OVERFLOW"));
    await assert.rejects(collect([[1, 512]]), code("BAD_PARAMS"));
  });
});

describe("WebGPU runner collectImatrix with f16Inputs (real process, stories260K F16)", {
  skip,
}, () => {
  let runner: RunnerClient;
  const chunk = (seed: number) => Array.from({ length: 40 }, (_, i) => (seed * 31 + i * 7) % 512);
  const collect = (
    chunks: number[][],
    flags: { reset?: boolean; read?: boolean; f16Inputs?: boolean },
  ) => runner.request("collectImatrix", { chunks, ...flags });

  before(async () => {
    const started = await startRunner(
      resolveRunner("webgpu", undefined),
      {
        model: model("stories260K-f16.gguf"),
        backend: "webgpu",
        contextSize: 64,
        seed: 0,
        threads: 0,
      },
      60_000,
    );
    runner = started.client;
  });
  after(() => runner.stop());

  it("the first layer's attention inputs are the same; every matrix after an F16 matmul differs", async () => {
    const plain = await collect([chunk(1)], { reset: true, read: true });
    const rounded = await collect([chunk(1)], { reset: true, read: true, f16Inputs: true });
    const sums = (r: typeof plain, name: string) => r.matrices?.find((m) => m.name === name)?.sums;
    // blk.0.attn_q's input is the embedding's RMSNorm: no F16 matmul has run before it.
    assert.deepEqual(sums(rounded, "blk.0.attn_q.weight"), sums(plain, "blk.0.attn_q.weight"));
    for (const m of plain.matrices ?? []) {
      if (m.name.startsWith("blk.0.attn_")) continue;
      const r = sums(rounded, m.name) ?? [];
      const diff = Math.hypot(...m.sums.map((s, j) => (r[j] as number) - s));
      const rel = diff / Math.hypot(...m.sums);
      // f16's half ulp is 2.4e-4 of a value: over 40 tokens a matrix moves by about that.
      assert.ok(rel > 0 && rel < 1e-2, `${m.name}: relative change ${rel}`);
    }
  });

  it("evaluate between two calls of an f16Inputs collection is unchanged and adds nothing", async () => {
    const tokens = [1, ...chunk(3).slice(1)];
    const before = await runner.request("evaluate", { tokens, scoreFrom: 1, topK: 0 });
    const alone = await collect([chunk(4), chunk(5)], { reset: true, read: true, f16Inputs: true });
    await collect([chunk(4)], { reset: true, f16Inputs: true });
    const during = await runner.request("evaluate", { tokens, scoreFrom: 1, topK: 0 });
    const split = await collect([chunk(5)], { read: true, f16Inputs: true });
    const logprobs = (r: typeof before) => r.scored.map((s) => s.logprob);
    assert.deepEqual(logprobs(during), logprobs(before));
    assert.deepEqual(split, { ...alone, evalMs: split.evalMs });
  });

  it("a call continuing a collection with the other f16Inputs is refused (BAD_PARAMS)", async () => {
    await collect([chunk(1)], { reset: true, f16Inputs: true });
    await assert.rejects(
      collect([chunk(2)], { read: true }),
      (e: unknown) =>
        e instanceof RunnerFailure && e.runnerCode === "BAD_PARAMS" && /f16Inputs/.test(e.message),
    );
    await assert.rejects(
      collect([chunk(2)], { reset: true, f16Inputs: "yes" as unknown as boolean }),
      (e: unknown) => e instanceof RunnerFailure && e.runnerCode === "BAD_PARAMS",
    );
  });
});
