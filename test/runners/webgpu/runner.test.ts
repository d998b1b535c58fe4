import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RunnerFailure } from "../../../src/errors.js";
import { ggufValue, writeGguf } from "../../../src/gguf/writer.js";
import { RunnerClient } from "../../../src/runner-client/client.js";
import type { LoadParams, LoadResult } from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { startRunner } from "../../../src/runner-client/start.js";
import { perplexityText } from "../../../src/scoring/perplexity.js";
import { model, ROOT } from "../../support/paths.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const LOAD: Omit<LoadParams, "model"> = {
  backend: "webgpu",
  contextSize: 128,
  seed: 1,
  threads: 0,
};
const rejectsWith = (code: string) => (e: unknown) =>
  e instanceof RunnerFailure && e.runnerCode === code;

describe("WebGPU runner (real process, stories260K Q8_0 on this machine's adapter)", {
  skip,
}, () => {
  let runner: RunnerClient;
  let loaded: LoadResult;
  let engine: string;

  before(async () => {
    const started = await startRunner(
      resolveRunner("webgpu", undefined),
      { ...LOAD, model: model("stories260K-q8_0.gguf") },
      60_000,
    );
    runner = started.client;
    loaded = started.loaded;
    engine = started.init.engine;
    assert.equal(started.init.name, "webgpu");
    assert.deepEqual(started.init.backends, ["webgpu"]);
  });
  after(() => runner.stop());

  it("names the adapter it found and reports what it loaded", () => {
    assert.match(engine, /^Dawn \(npm webgpu \d+\.\d+\.\d+\).* on \S/);
    assert.equal(loaded.backend, "webgpu");
    assert.equal(loaded.device.length > 0, true);
    assert.equal(loaded.parameterCount, 292_800);
    assert.equal(loaded.vocabularySize, 512);
    assert.deepEqual(loaded.tensorTypes, { Q8_0: 32, F32: 11, F16: 5 });
    assert.equal(loaded.addBos, true);
    assert.equal(loaded.bos, 1);
    assert.equal(loaded.contextSize, 128);
  });

  it("tokenizes exactly as llama.cpp's llama-tokenize does (ids in test/fixtures/ppl)", async () => {
    const fixtures = join(ROOT, "test/fixtures/ppl");
    const ref = JSON.parse(readFileSync(join(fixtures, "reference.json"), "utf8")) as {
      token_ids: number[];
    };
    const text = perplexityText(readFileSync(join(fixtures, "stories.txt"), "utf8"));
    const { tokens } = await runner.request("tokenize", { text });
    assert.deepEqual(tokens, ref.token_ids);
    const bare = await runner.request("tokenize", { text: "Once upon a time", addBos: false });
    assert.notEqual(bare.tokens[0], 1);
  });

  it("generates greedily and deterministically, with timings from inside the runner", async () => {
    const params = { prompt: "Once upon a time", maxTokens: 24, stop: [], temperature: 0 };
    const a = await runner.request("generate", params);
    const b = await runner.request("generate", params);
    assert.equal(a.text, b.text);
    assert.match(a.text, /^, there was a little girl named Lily/);
    assert.equal(a.completionTokens, 24);
    assert.equal(a.promptTokens, 5);
    assert.equal(a.finishReason, "length");
    assert.ok(a.tokenizeMs >= 0 && a.tokenizeMs < a.ttftMs && a.ttftMs <= a.totalMs);
    assert.ok(a.decodeMs > 0 && a.decodeMs < a.totalMs);
  });

  it("stops at a stop string and cuts it off; refuses sampling with BAD_PARAMS", async () => {
    const out = await runner.request("generate", {
      prompt: "Once upon a time",
      maxTokens: 64,
      stop: ["Lily"],
      temperature: 0,
    });
    assert.equal(out.finishReason, "stop");
    assert.equal(out.text, ", there was a little girl named ");
    await assert.rejects(
      runner.request("generate", { prompt: "Hi", maxTokens: 4, stop: [], temperature: 0.7 }),
      rejectsWith("BAD_PARAMS"),
    );
  });

  it("evaluates log-probabilities of the actual tokens, a sorted top-K and target ids", async () => {
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
      assert.ok(top.reduce((sum, [, lp]) => sum + Math.exp(lp), 0) <= 1 + 1e-5);
      const inTop = top.find(([id]) => id === tokens[i + 1]);
      if (inTop) assert.ok(Math.abs(inTop[1] - s.logprob) < 1e-6);
    }
    const scored = tokens.length - 6;
    const targets = Array.from({ length: scored }, (_, i) => [
      out.scored[i + 5]?.top?.[1]?.[0] ?? 0,
    ]);
    const later = await runner.request("evaluate", { tokens, scoreFrom: 6, topK: 0, targets });
    assert.equal(later.scored.length, scored);
    for (const [i, s] of later.scored.entries()) {
      const earlier = out.scored[i + 5];
      assert.ok(Math.abs(s.logprob - (earlier?.logprob ?? 0)) < 1e-4);
      assert.equal(s.top, undefined);
      assert.ok(Math.abs((s.targets?.[0] ?? 0) - (earlier?.top?.[1]?.[1] ?? 0)) < 1e-4);
    }
  });

  it("benchmarks llama-bench's shapes (prompt at a depth, then greedy steps)", async () => {
    const params = { promptTokens: 32, generateTokens: 8, depth: 16, seed: 3 };
    const out = await runner.request("benchmark", params);
    assert.equal(out.promptTokens, 32);
    assert.equal(out.generatedTokens, 8);
    assert.ok(out.prefillMs > 0 && out.decodeMs > 0);
    await assert.rejects(
      runner.request("benchmark", { ...params, promptTokens: 120 }),
      rejectsWith("CONTEXT_OVERFLOW"),
    );
  });

  it("reports the bytes of its live GPU buffers as the engine figure, and peak RSS", async () => {
    const mem = await runner.request("memory", {});
    const used = mem.device?.used ?? 0;
    // Q8_0 weights (~0.4 MB in the file) plus the KV cache and scratch, never F32 copies (1.2 MB).
    assert.ok(used > 300_000 && used < 1_100_000, `device bytes ${used}`);
    assert.ok(mem.rss > 10 * 1024 * 1024);
    assert.ok((mem.peakRss ?? 0) >= mem.rss);
  });

  it("answers bad requests with stable error codes", async () => {
    const tooLong = Array.from({ length: 300 }, () => 1);
    await assert.rejects(
      runner.request("evaluate", { tokens: tooLong, scoreFrom: 1, topK: 0 }),
      rejectsWith("CONTEXT_OVERFLOW"),
    );
    await assert.rejects(
      runner.request("evaluate", { tokens: [1, 2], scoreFrom: 0, topK: 0 }),
      rejectsWith("BAD_PARAMS"),
    );
    await assert.rejects(
      runner.request("evaluate", { tokens: [1, 9999], scoreFrom: 1, topK: 0 }),
      rejectsWith("BAD_PARAMS"),
    );
  });
});

describe("WebGPU runner failures (real process)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "qbench-webgpu-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("refuses a missing model with MODEL_NOT_FOUND", async () => {
    await assert.rejects(
      startRunner(
        resolveRunner("webgpu", undefined),
        { ...LOAD, model: "/nonexistent.gguf" },
        60_000,
      ),
      rejectsWith("MODEL_NOT_FOUND"),
    );
  });

  it("refuses an architecture it has no kernels for with BAD_MODEL", async () => {
    const path = join(dir, "gpt2.gguf");
    await writeGguf(path, {
      metadata: { "general.architecture": ggufValue.string("gpt2") },
      tensors: [{ name: "token_embd.weight", dims: [4, 8], type: 0, data: new Uint8Array(128) }],
    });
    await assert.rejects(
      startRunner(resolveRunner("webgpu", undefined), { ...LOAD, model: path }, 60_000),
      (e) => rejectsWith("BAD_MODEL")(e) && /architecture "gpt2"/.test((e as Error).message),
    );
  });

  it("refuses a tensor type its shaders do not read with UNSUPPORTED, naming tensor and type", async () => {
    const path = join(dir, "iq2.gguf");
    const u32 = ggufValue.uint32;
    await writeGguf(path, {
      metadata: {
        "general.architecture": ggufValue.string("llama"),
        "llama.embedding_length": u32(256),
        "llama.attention.head_count": u32(4),
        "llama.block_count": u32(1),
        "llama.feed_forward_length": u32(512),
      },
      tensors: [
        { name: "token_embd.weight", dims: [256, 8], type: 0, data: new Uint8Array(256 * 8 * 4) },
        { name: "blk.0.attn_norm.weight", dims: [256], type: 0, data: new Uint8Array(256 * 4) },
        // IQ2_XXS (ggml type 16): 256 blocks of 66 bytes.
        { name: "blk.0.attn_q.weight", dims: [256, 256], type: 16, data: new Uint8Array(256 * 66) },
      ],
    });
    await assert.rejects(
      startRunner(resolveRunner("webgpu", undefined), { ...LOAD, model: path }, 60_000),
      (e) =>
        rejectsWith("UNSUPPORTED")(e) &&
        /tensor blk\.0\.attn_q\.weight is IQ2_XXS/.test((e as Error).message),
    );
  });

  it("without an adapter: initialize says so and load answers BACKEND_UNAVAILABLE", async (t) => {
    // Only Dawn's native backend: machines without a Vulkan/Metal/D3D12 GPU have no adapter there.
    const saved = process.env.QBENCH_WEBGPU_BACKEND;
    process.env.QBENCH_WEBGPU_BACKEND = "default";
    const client = RunnerClient.start(resolveRunner("webgpu", undefined));
    if (saved === undefined) delete process.env.QBENCH_WEBGPU_BACKEND;
    else process.env.QBENCH_WEBGPU_BACKEND = saved;
    try {
      const init = await client.request("initialize", {}, 30_000);
      if (init.backends.length > 0) {
        t.skip(`this machine has a native WebGPU adapter (${init.engine})`);
        return;
      }
      assert.match(init.engine, /no WebGPU adapter/);
      await assert.rejects(
        client.request("load", { ...LOAD, model: model("stories260K-f32.gguf") }, 30_000),
        (e) =>
          rejectsWith("BACKEND_UNAVAILABLE")(e) && /no WebGPU adapter/.test((e as Error).message),
      );
    } finally {
      await client.stop();
    }
  });
});
