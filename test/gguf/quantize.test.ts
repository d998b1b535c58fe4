import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TINY, writeSyntheticLlama } from "../../bench/quantize.js";
import { findNumber, readGguf } from "../../lib/gguf/reader.js";
import { InputError } from "../../src/errors.js";
import { quantizeTarget } from "../../src/gguf/quantize/formats.js";
import { planQuantization } from "../../src/gguf/quantize/plan.js";
import { quantizeGguf } from "../../src/gguf/quantize/quantize-file.js";
import {
  allowsQuantization,
  compareTensorNames,
  trimDims,
} from "../../src/gguf/quantize/tensor-rules.js";
import { type GgufWriteTensor, ggufValue as v, writeGguf } from "../../src/gguf/writer.js";
import { MODELS, model, ROOT } from "../support/paths.js";

/** test/fixtures/quantize/reference.json, written by make-reference.sh from llama-quantize --pure. */
interface Reference {
  runs: {
    input: string;
    inputSha256: string;
    type: string;
    allowRequantize: boolean;
    output: {
      fileSize: number;
      fileSha256: string;
      headerBytes: number;
      headerSha256: string;
      tensorOrder: string[];
      tensors: Record<string, { type: string; dims: number[]; sha256: string }>;
    };
  }[];
}

const reference = JSON.parse(
  readFileSync(join(ROOT, "test/fixtures/quantize/reference.json"), "utf8"),
) as Reference;
const noModels = existsSync(MODELS) ? false : `no test models at ${MODELS}`;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const target = (name: string) => {
  const t = quantizeTarget(name);
  assert.ok(t, `unknown target ${name}`);
  return t;
};

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "qbench-quantize-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Where a reference input lives: a shared model, or a synthetic file regenerated here (checked by its sha256). */
async function inputFor(name: string): Promise<string> {
  const synthetic = /^synthetic-tiny-(f32|f16|bf16)\.gguf$/.exec(name);
  if (!synthetic) return model(name);
  const path = join(dir, name);
  if (!existsSync(path)) {
    await writeSyntheticLlama(path, TINY, synthetic[1] as "f32" | "f16" | "bf16");
  }
  return path;
}

describe("qbench quantize vs llama-quantize --pure: every tensor, the header and the whole file", {
  skip: noModels,
}, () => {
  for (const [i, run] of reference.runs.entries()) {
    const label = `${run.input} → ${run.type}${run.allowRequantize ? " (--allow-requantize)" : ""}`;
    test(label, async (t) => {
      const input = await inputFor(run.input);
      assert.equal(
        sha256(readFileSync(input)),
        run.inputSha256,
        "input is not the file the reference was made from",
      );
      const out = join(dir, `out-${i}.gguf`);
      await quantizeGguf({
        input,
        output: out,
        pure: true,
        target: target(run.type),
        allowRequantize: run.allowRequantize,
      });
      const raw = readFileSync(out);
      const file = await readGguf(out);
      const want = run.output.tensors;
      let same = 0;
      for (const tensor of file.tensors) {
        const start = file.dataOffset + tensor.offset;
        const got = sha256(raw.subarray(start, start + tensor.byteSize));
        if (want[tensor.name]?.sha256 === got && want[tensor.name]?.type === tensor.typeName)
          same++;
      }
      const total = Object.keys(want).length;
      const fileSame = sha256(raw) === run.output.fileSha256;
      t.diagnostic(
        `quantize ${run.type.toLowerCase()} (${run.input}): ${same}/${total} tensors identical, header identical: ${sha256(raw.subarray(0, file.dataOffset)) === run.output.headerSha256 ? "yes" : "no"}, file identical: ${fileSame ? "yes" : "no"}`,
      );
      assert.deepEqual(
        file.tensors.map((x) => x.name),
        run.output.tensorOrder,
      );
      assert.equal(same, total, `${same}/${total} tensors identical`);
      assert.equal(file.dataOffset, run.output.headerBytes);
      assert.equal(sha256(raw.subarray(0, file.dataOffset)), run.output.headerSha256);
      assert.equal(raw.length, run.output.fileSize);
      assert.ok(fileSame, "whole file differs");
    });
  }

  for (const threads of [1, 3]) {
    test(`${threads} thread(s), small slabs (many reads per tensor, prefetching): the same bytes`, async () => {
      for (const [input, type] of [
        ["stories260K-f16.gguf", "Q5_1"],
        ["stories260K-f32.gguf", "Q8_0"],
      ] as const) {
        const run = reference.runs.find((r) => r.input === input && r.type === type);
        assert.ok(run);
        const out = join(dir, `slabs-${threads}.gguf`);
        await quantizeGguf({
          input: model(input),
          output: out,
          pure: true,
          target: target(type),
          slabBytes: 300,
          threads,
        });
        assert.equal(sha256(readFileSync(out)), run.output.fileSha256, `${input} → ${type}`);
      }
    });
  }
});

describe("which tensors llama-quantize converts, and in what order", () => {
  test("1-D tensors, norms, non-weights and the never-quantized names stay as they are", () => {
    assert.equal(allowsQuantization("blk.0.attn_q.weight", [64, 64]), true);
    assert.equal(allowsQuantization("token_embd.weight", [64, 512]), true);
    assert.equal(allowsQuantization("output.weight", [64, 512]), true);
    assert.equal(allowsQuantization("blk.0.attn_norm.weight", [64]), false);
    assert.equal(allowsQuantization("blk.0.attn_q.weight", [64, 1, 1]), false); // ggml_n_dims is 1
    assert.equal(allowsQuantization("blk.0.attn_q_norm.weight", [64, 8]), false);
    assert.equal(allowsQuantization("blk.0.attn_q.bias", [64, 64]), false);
    assert.equal(allowsQuantization("blk.0.ffn_gate_inp.weight", [64, 8]), false);
    assert.equal(allowsQuantization("position_embd.weight", [64, 512]), false);
    assert.equal(allowsQuantization("blk.0.ssm_conv1d.weight", [4, 64]), false);
    assert.deepEqual(trimDims([64, 1, 1]), [64]);
    assert.deepEqual(trimDims([1, 1]), [1]);
    assert.deepEqual(trimDims([64, 2, 1]), [64, 2]);
  });

  test("order: tensors outside blocks first, then by layer number (blk.10 after blk.9), then by name", () => {
    const names = ["blk.10.a", "blk.9.b", "output.weight", "blk.9.a", "token_embd.weight", "a"];
    assert.deepEqual(names.sort(compareTensorNames), [
      "a",
      "output.weight",
      "token_embd.weight",
      "blk.9.a",
      "blk.9.b",
      "blk.10.a",
    ]);
  });
});

async function writeModel(
  name: string,
  tensors: GgufWriteTensor[],
  extra: Record<string, ReturnType<typeof v.uint32>> = {},
): Promise<string> {
  const path = join(dir, name);
  await writeGguf(path, {
    metadata: {
      "general.architecture": v.string("llama"),
      "general.file_type": v.uint32(0),
      ...extra,
    },
    tensors,
  });
  return path;
}

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const ramp = (n: number, scale = 0.01) => Array.from({ length: n }, (_, i) => (i - n / 2) * scale);

/** Expects quantizeGguf to fail with an InputError matching `pattern` and to leave `out` (and any temporary file) absent. */
async function refuses(
  options: Parameters<typeof quantizeGguf>[0],
  code: string,
  pattern: RegExp,
): Promise<void> {
  const before = new Set(readdirSync(dir));
  await assert.rejects(quantizeGguf(options), (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
  assert.equal(existsSync(options.output), false, "an output file was left behind");
  assert.deepEqual(
    readdirSync(dir).filter((f) => !before.has(f)),
    [],
    "a temporary file was left behind",
  );
}

describe("bad input: a clear error, nothing written", () => {
  test("a NaN in the last tensor fails mid-file; no output and no temporary file remain", async () => {
    const values = ramp(64 * 4);
    values[200] = Number.NaN;
    const input = await writeModel("nan.gguf", [
      { name: "blk.0.attn_q.weight", dims: [64, 4], type: 0, data: f32(ramp(256)) },
      { name: "blk.1.attn_q.weight", dims: [64, 4], type: 0, data: f32(values) },
    ]);
    for (const threads of [1, 2]) {
      await refuses(
        { input, output: join(dir, "nan-q8.gguf"), target: target("q8_0"), threads },
        "BAD_MODEL",
        /tensor blk\.1\.attn_q\.weight: has invalid data: NaN or infinity at element 200 /,
      );
    }
  });

  test("values too large for fp16 scales are refused, as llama-quantize's validation does", async () => {
    const values = ramp(64 * 2);
    values[70] = 1e9;
    const input = await writeModel("huge.gguf", [
      { name: "blk.0.ffn_up.weight", dims: [64, 2], type: 0, data: f32(values) },
    ]);
    await refuses(
      { input, output: join(dir, "huge-f16.gguf"), target: target("f16") },
      "BAD_MODEL",
      /do not fit F16: element 70 becomes infinite/,
    );
    for (const threads of [1, 2]) {
      await refuses(
        { input, output: join(dir, "huge-q8.gguf"), target: target("q8_0"), threads },
        "BAD_MODEL",
        /do not fit Q8_0: block 2 becomes infinite/,
      );
    }
  });

  test("an already-quantized tensor needs --allow-requantize", { skip: noModels }, async () => {
    await refuses(
      {
        input: model("stories260K-q4_0.gguf"),
        output: join(dir, "rq.gguf"),
        target: target("q8_0"),
      },
      "BAD_MODEL",
      /tensor output\.weight is already Q4_0; .* --allow-requantize/,
    );
  });

  // Was Q4_K until qbench learnt to decode the k-quants; IQ2_XXS is still one it cannot.
  test("a source type qbench cannot decode (IQ2_XXS) is refused, not copied", async () => {
    const input = await writeModel("iq2xxs.gguf", [
      { name: "blk.0.ffn_up.weight", dims: [256, 2], type: 16, data: new Uint8Array(2 * 66) },
    ]);
    await refuses(
      {
        input,
        output: join(dir, "iq2xxs-q8.gguf"),
        target: target("q8_0"),
        allowRequantize: true,
      },
      "BAD_MODEL",
      /tensor blk\.0\.ffn_up\.weight is IQ2_XXS, which qbench cannot convert to Q8_0/,
    );
  });

  test("a split GGUF part is refused", async () => {
    const input = await writeModel(
      "split.gguf",
      [{ name: "blk.0.ffn_up.weight", dims: [32, 1], type: 0, data: f32(ramp(32)) }],
      { "split.count": v.uint32(3) },
    );
    await refuses(
      { input, output: join(dir, "split-q8.gguf"), target: target("q8_0") },
      "BAD_MODEL",
      /one of 3 split GGUF files/,
    );
  });

  test("input and output the same file", async () => {
    const input = await writeModel("same.gguf", [
      { name: "blk.0.ffn_up.weight", dims: [32, 2], type: 0, data: f32(ramp(64)) },
    ]);
    await assert.rejects(
      quantizeGguf({ input, output: input, target: target("q8_0"), pure: true }),
      /input and output are the same file/,
    );
  });

  test("an output directory that does not exist: BAD_INPUT naming the output", async () => {
    const input = await writeModel("ok.gguf", [
      { name: "blk.0.ffn_up.weight", dims: [32, 2], type: 0, data: f32(ramp(64)) },
    ]);
    const output = join(dir, "missing-dir", "out.gguf");
    await assert.rejects(
      quantizeGguf({ input, output, target: target("q8_0"), pure: true }),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.equal(err.code, "BAD_INPUT");
        assert.equal(err.location, output);
        assert.match(err.message, /cannot write the output file: ENOENT/);
        return true;
      },
    );
  });
});

describe("file-level behaviour without a reference file", () => {
  test("metadata: quantization_version and file_type re-set last, split keys dropped, rest in order", async () => {
    const input = await writeModel(
      "meta.gguf",
      [{ name: "blk.0.ffn_up.weight", dims: [32, 2], type: 0, data: f32(ramp(64)) }],
      { "general.quantization_version": v.uint32(1), "split.count": v.uint32(1) },
    );
    const out = join(dir, "meta-q4_1.gguf");
    await quantizeGguf({ input, output: out, target: target("q4_1"), pure: true });
    const file = await readGguf(out);
    assert.deepEqual(
      [...file.metadata.keys()],
      ["general.architecture", "general.quantization_version", "general.file_type"],
    );
    assert.equal(findNumber(file, "general.file_type"), 3);
    assert.equal(findNumber(file, "general.quantization_version"), 2);
    assert.equal(file.version, 3);
  });

  test("a plan names the F16 fall-back for rows that are not whole blocks", async () => {
    const input = await writeModel("fallback.gguf", [
      { name: "blk.0.ffn_down.weight", dims: [40, 2], type: 0, data: f32(ramp(80)) },
      { name: "blk.0.ffn_up.weight", dims: [32, 2], type: 0, data: f32(ramp(64)) },
    ]);
    const plan = planQuantization(await readGguf(input), target("q5_0"), {
      allowRequantize: false,
      pure: true,
      overrides: [],
    });
    assert.deepEqual(
      plan.tensors.map((p) => [p.tensor.name, p.type, p.fallback]),
      [
        ["blk.0.ffn_down.weight", 1, true],
        ["blk.0.ffn_up.weight", 6, false],
      ],
    );
  });

  test("general.alignment 64 is honoured (llama-quantize would pad to 32 and write an unreadable file)", async () => {
    const input = await writeModel(
      "align.gguf",
      [
        { name: "blk.0.attn_norm.weight", dims: [8], type: 0, data: f32(ramp(8)) },
        { name: "blk.0.ffn_up.weight", dims: [32, 3], type: 0, data: f32(ramp(96)) },
      ],
      { "general.alignment": v.uint32(64) },
    );
    const out = join(dir, "align-q8.gguf");
    await quantizeGguf({ input, output: out, target: target("q8_0"), pure: true });
    const file = await readGguf(out);
    assert.equal(file.alignment, 64);
    assert.ok(file.tensors.every((t) => t.offset % 64 === 0));
  });
});
