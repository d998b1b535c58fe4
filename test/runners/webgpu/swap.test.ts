import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readGguf } from "../../../lib/gguf/reader.js";
import { RunnerFailure } from "../../../src/errors.js";
import { QUANTIZE_TARGETS } from "../../../src/gguf/quantize/formats.js";
import { quantizeGguf } from "../../../src/gguf/quantize/quantize-file.js";
import type { RunnerClient } from "../../../src/runner-client/client.js";
import type { EvaluateResult, LoadParams } from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { startRunner } from "../../../src/runner-client/start.js";
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
const rejectsWith = (code: string, message: RegExp) => (e: unknown) =>
  e instanceof RunnerFailure && e.runnerCode === code && message.test(e.message);
const target = (name: string) => {
  const t = QUANTIZE_TARGETS.find((q) => q.name === name);
  assert.ok(t, name);
  return t;
};
/** The tensors whose type differs between two files of one model. */
async function differing(a: string, b: string): Promise<string[]> {
  const types = new Map((await readGguf(a)).tensors.map((t) => [t.name, t.type]));
  return (await readGguf(b)).tensors.filter((t) => types.get(t.name) !== t.type).map((t) => t.name);
}

describe("WebGPU runner swapWeights: a variant's tensors replace the loaded ones in place (stories260K F16)", {
  skip,
}, () => {
  const source = model("stories260K-f16.gguf");
  let dir: string;
  let layer1: string;
  let allQ8: string;
  let runner: RunnerClient;
  // A story's window: every position scored, with its top 4.
  const window = { tokens: [] as number[], scoreFrom: 1, topK: 4 };
  const fresh = async (file: string): Promise<EvaluateResult["scored"]> => {
    const started = await startRunner(
      resolveRunner("webgpu", undefined),
      { ...LOAD, model: file },
      60_000,
    );
    try {
      return (await started.client.request("evaluate", window)).scored;
    } finally {
      await started.client.stop();
    }
  };
  const used = async () => (await runner.request("memory", {})).device?.used;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "qbench-swap-"));
    layer1 = join(dir, "layer1-q4_0.gguf");
    allQ8 = join(dir, "q8_0.gguf");
    // Layer 1 alone at Q4_0, everything else the source's F16 bytes (a sensitivity "only" variant).
    await quantizeGguf({
      input: source,
      output: layer1,
      target: target("q4_0"),
      pure: true,
      tensorTypes: [
        { pattern: /^blk\.1\./, type: target("q4_0").format.type },
        { pattern: /./, type: target("f16").format.type },
      ],
    });
    await quantizeGguf({ input: source, output: allQ8, target: target("q8_0"), pure: true });
    const started = await startRunner(
      resolveRunner("webgpu", undefined),
      { ...LOAD, model: source },
      60_000,
    );
    runner = started.client;
    assert.ok(started.init.capabilities.includes("swap-weights"));
    const text = "Lily went to the park. She saw a big dog and a little red ball.";
    window.tokens = (await runner.request("tokenize", { text })).tokens;
  });
  after(async () => {
    await runner?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("scores as a fresh load of the variant does, to the bit, and back again", async () => {
    const base = (await runner.request("evaluate", window)).scored;
    const bytesBefore = await used();
    const changed = await differing(source, layer1);
    // ffn_down's rows (n_ff = 172) are no multiple of Q4_0's 32: the quantizer leaves it F16.
    assert.deepEqual(
      changed.map((n) => n.replace(/^blk\.1\./, "")).sort(),
      ["attn_k", "attn_output", "attn_q", "attn_v", "ffn_gate", "ffn_up"].map((n) => `${n}.weight`),
    );
    const swap = await runner.request("swapWeights", { model: layer1, tensors: changed });
    assert.equal(swap.swapped, changed.length);
    const layer1Stats = await readGguf(layer1);
    const wantBytes = layer1Stats.tensors
      .filter((t) => changed.includes(t.name))
      .reduce((s, t) => s + t.byteSize, 0);
    assert.equal(swap.bytes, wantBytes);
    const swapped = (await runner.request("evaluate", window)).scored;
    assert.deepEqual(swapped, await fresh(layer1));
    assert.notDeepEqual(swapped, base, "Q4_0 in layer 1 changes the scores");
    // Back to the source: its scores again, and no buffer left behind.
    await runner.request("swapWeights", { model: source, tensors: changed });
    assert.deepEqual((await runner.request("evaluate", window)).scored, base);
    assert.equal(await used(), bytesBefore);
  });

  it("swaps every matrix's type at once (the source to pure Q8_0) as a load would", async () => {
    const changed = await differing(source, allQ8);
    const swap = await runner.request("swapWeights", { model: allQ8, tensors: changed });
    assert.equal(swap.swapped, changed.length);
    assert.deepEqual((await runner.request("evaluate", window)).scored, await fresh(allQ8));
    await runner.request("swapWeights", { model: source, tensors: changed });
  });

  it("refuses another model, a changed tensor left unnamed, an unknown name and a missing file, and keeps what it has", async () => {
    const base = (await runner.request("evaluate", window)).scored;
    await assert.rejects(
      runner.request("swapWeights", { model: model("stories260K-f32.gguf"), tensors: [] }),
      rejectsWith(
        "BAD_PARAMS",
        /stories260K-f32\.gguf cannot replace .*tensor \S+ is F32 there and F16 here, and tensors does not name it/,
      ),
    );
    await assert.rejects(
      runner.request("swapWeights", {
        model: join(ROOT, "models/demo/demo-f16.gguf"),
        tensors: [],
      }),
      rejectsWith(
        "BAD_PARAMS",
        /demo-f16\.gguf cannot replace .*: its \w+ is \d+, the loaded model's \d+/,
      ),
    );
    await assert.rejects(
      runner.request("swapWeights", { model: layer1, tensors: ["blk.1.attn_q.weight"] }),
      rejectsWith("BAD_PARAMS", /tensor blk\.1\.\S+ is Q4_0 there and F16 here/),
    );
    await assert.rejects(
      runner.request("swapWeights", { model: layer1, tensors: ["blk.9.attn_q.weight"] }),
      rejectsWith("BAD_PARAMS", /does not have/),
    );
    await assert.rejects(
      runner.request("swapWeights", { model: join(dir, "absent.gguf"), tensors: [] }),
      rejectsWith("MODEL_NOT_FOUND", /absent\.gguf/),
    );
    assert.deepEqual((await runner.request("evaluate", window)).scored, base);
  });
});
