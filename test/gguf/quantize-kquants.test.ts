import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GGML_TYPES } from "../../lib/gguf/ggml-types.js";
import { type GgufFile, readGguf } from "../../lib/gguf/reader.js";
import { convertSlab, Scratch } from "../../src/gguf/quantize/convert-slab.js";
import {
  FORMATS,
  QUANTIZE_TYPE_NAMES,
  quantizeTarget,
  tensorFormat,
} from "../../src/gguf/quantize/formats.js";
import { type Imatrix, readImatrix } from "../../src/gguf/quantize/imatrix.js";
import { planQuantization } from "../../src/gguf/quantize/plan.js";
import { quantizeGguf } from "../../src/gguf/quantize/quantize-file.js";
import { QuantizeType } from "../../src/plan/schema.js";
import { writeKquantModel } from "../fixtures/quantize/kquant-model.js";
import { MODELS, model, ROOT } from "../support/paths.js";

/** test/fixtures/quantize/kquant-reference.json, written by scripts/make-kquant-reference.mjs from the real llama-quantize. */
interface Run {
  input: string;
  inputSha256: string;
  type: string;
  pure: boolean;
  imatrix: string | null;
  tensorType: string | null;
  /** Other llama-quantize options: --output-tensor-type T, --token-embedding-type T, --leave-output-tensor. */
  options: string[] | null;
  output: {
    fileSha256: string;
    headerSha256: string;
    tensors: Record<string, { type: string; sha256: string }>;
  };
  dequantized: Record<string, string> | null;
}

const FIXTURES = join(ROOT, "test/fixtures/quantize");
const reference = JSON.parse(readFileSync(join(FIXTURES, "kquant-reference.json"), "utf8")) as {
  runs: Run[];
};
const noModels = existsSync(MODELS) ? false : `no test models at ${MODELS}`;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const label = (r: Run) =>
  `${r.input} → ${r.type}${r.pure ? " --pure" : ""}${r.imatrix ? ` --imatrix ${r.imatrix}` : ""}${r.tensorType ? ` --tensor-type ${r.tensorType}` : ""}${r.options ? ` ${r.options.join(" ")}` : ""}`;

let dir = "";
const inputs = new Map<string, { path: string; file: GgufFile; raw: Buffer }>();
const imatrices = new Map<string, Imatrix>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "qbench-kquants-"));
  const probe = join(dir, "kquant-probe-f32.gguf");
  await writeKquantModel(probe);
  for (const [name, path] of [
    ["kquant-probe-f32.gguf", probe],
    ["stories260K-f32.gguf", model("stories260K-f32.gguf")],
  ] as const) {
    if (!existsSync(path)) continue;
    inputs.set(name, { path, file: await readGguf(path), raw: readFileSync(path) });
  }
  for (const r of reference.runs) {
    if (r.imatrix !== null && !imatrices.has(r.imatrix)) {
      imatrices.set(r.imatrix, await readImatrix(join(FIXTURES, r.imatrix)));
    }
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function overridesOf(r: Run) {
  if (r.tensorType === null) return [];
  const [pattern = "", type = ""] = r.tensorType.split("=");
  const format = tensorFormat(type);
  assert.ok(format, `unknown type in ${r.tensorType}`);
  return [{ pattern: new RegExp(pattern), type: format.type }];
}

/** A run's --output-tensor-type, --token-embedding-type and --leave-output-tensor, as planQuantization takes them. */
function optionsOf(r: Run) {
  const args = r.options ?? [];
  const typeAfter = (flag: string) => {
    const at = args.indexOf(flag);
    if (at < 0) return undefined;
    const format = tensorFormat(args[at + 1] ?? "");
    assert.ok(format, `unknown type after ${flag} in ${label(r)}`);
    return format.type;
  };
  return {
    outputTensorType: typeAfter("--output-tensor-type"),
    tokenEmbeddingType: typeAfter("--token-embedding-type"),
    leaveOutputTensor: args.includes("--leave-output-tensor"),
  };
}

function planOf(r: Run) {
  const input = inputs.get(r.input);
  assert.ok(input, `no input ${r.input}`);
  const target = quantizeTarget(r.type);
  assert.ok(target, `no target ${r.type}`);
  const imatrix =
    r.imatrix === null
      ? undefined
      : { path: join(FIXTURES, r.imatrix), data: imatrices.get(r.imatrix) as Imatrix };
  return planQuantization(input.file, target, {
    allowRequantize: false,
    pure: r.pure,
    overrides: overridesOf(r),
    imatrix,
    ...optionsOf(r),
  });
}

/** One tensor's output bytes, computed once per (input, tensor, type, imatrix): the runs share most of them. */
const converted = new Map<string, Uint8Array>();
const floats = new Scratch();
function tensorBytes(r: Run, name: string, type: number): Uint8Array {
  const key = `${r.input}|${name}|${type}|${r.imatrix ?? ""}`;
  const cached = converted.get(key);
  if (cached) return cached;
  const input = inputs.get(r.input);
  const t = input?.file.tensors.find((x) => x.name === name);
  assert.ok(input && t);
  const start = input.file.dataOffset + t.offset;
  const raw = new Uint8Array(input.raw.buffer, input.raw.byteOffset + start, t.byteSize);
  let bytes = raw;
  if (type !== t.type) {
    const info = GGML_TYPES.get(type);
    assert.ok(info);
    const rowLength = t.dims[0] ?? 1;
    const rows = t.elementCount / rowLength;
    const output = new Uint8Array(rows * (rowLength / info.blockSize) * info.typeSize);
    // A copy keeps the Float32Array view of the input 4-byte aligned.
    const input32 = new Uint8Array(raw);
    const entry = r.imatrix === null ? undefined : imatrices.get(r.imatrix)?.entries.get(name);
    const check = convertSlab(
      {
        source: t.type,
        target: type,
        input: input32,
        output,
        imatrix:
          entry?.length === rowLength * (t.dims[2] ?? 1)
            ? { weights: entry, rowLength, rowsPerExpert: t.dims[1] ?? 1, firstRow: 0 }
            : undefined,
      },
      floats,
    );
    assert.equal(check.invalidOutput, -1, `${name} → ${info.name}: invalid output`);
    bytes = output;
  }
  converted.set(key, bytes);
  return bytes;
}

describe("k-quants, IQ4 and llama-quantize's mixes vs the real llama-quantize: every tensor", {
  skip: noModels,
}, () => {
  test("the probe model is the file the reference was made from", () => {
    for (const r of reference.runs) {
      const input = inputs.get(r.input);
      assert.ok(input, r.input);
      assert.equal(sha256(input.raw), r.inputSha256, `${r.input} differs from the reference input`);
    }
  });

  test("every run: each tensor gets the type llama-quantize chose (mix, fall-backs, overrides, imatrix rules)", () => {
    for (const r of reference.runs) {
      const plan = planOf(r);
      const got = Object.fromEntries(
        plan.tensors.map((p) => [p.tensor.name, GGML_TYPES.get(p.type)?.name]),
      );
      const want = Object.fromEntries(
        Object.entries(r.output.tensors).map(([name, t]) => [name, t.type]),
      );
      assert.deepEqual(got, want, label(r));
    }
  });

  // Per format (the --pure runs) and per mix: every tensor's bytes, from the shared cache.
  for (const r of reference.runs) {
    test(label(r), (t) => {
      const plan = planOf(r);
      let same = 0;
      const differ: string[] = [];
      for (const p of plan.tensors) {
        const got = sha256(tensorBytes(r, p.tensor.name, p.type));
        if (got === r.output.tensors[p.tensor.name]?.sha256) same++;
        else differ.push(`${p.tensor.name} (${GGML_TYPES.get(p.type)?.name})`);
      }
      const total = Object.keys(r.output.tensors).length;
      t.diagnostic(`${label(r)}: ${same}/${total} tensors identical`);
      assert.equal(same, total, `differ: ${differ.slice(0, 8).join(", ")}`);
    });
  }

  test("dequantizers: ggml's dequantize_row_* output for every --pure format (llama-quantize --allow-requantize … F32)", (t) => {
    for (const r of reference.runs.filter((x) => x.dequantized !== null)) {
      const plan = planOf(r);
      let same = 0;
      for (const p of plan.tensors) {
        const format = FORMATS.get(p.type);
        assert.ok(format, `no decoder for type ${p.type}`);
        const q = tensorBytes(r, p.tensor.name, p.type);
        const y = new Float32Array(p.tensor.elementCount);
        format.dequantizeRow(q, y);
        if (sha256(new Uint8Array(y.buffer)) === r.dequantized?.[p.tensor.name]) same++;
      }
      const total = Object.keys(r.dequantized ?? {}).length;
      t.diagnostic(`dequantize ${r.type} (${r.input}): ${same}/${total} tensors identical`);
      assert.equal(same, total, label(r));
    }
  });

  test("whole files through quantizeGguf (2 threads; the Q4_K_M mix, its output / token_embd options, Q2_K_S, IQ4_XS with a .dat imatrix): header and file identical, imatrix runs tensor for tensor", async (t) => {
    const picks = reference.runs.filter(
      (r) =>
        (r.type === "Q4_K_M" && !r.pure && r.tensorType === null) ||
        (r.type === "IQ4_XS" && r.imatrix?.endsWith(".dat") === true) ||
        r.type === "Q2_K_S",
    );
    assert.ok(picks.length >= 10);
    for (const [i, r] of picks.entries()) {
      const input = inputs.get(r.input);
      const target = quantizeTarget(r.type);
      assert.ok(input && target);
      const out = join(dir, `whole-${i}.gguf`);
      await quantizeGguf({
        input: input.path,
        output: out,
        target,
        pure: r.pure,
        ...optionsOf(r),
        threads: 2,
        slabBytes: 1 << 16,
        imatrix:
          r.imatrix === null
            ? undefined
            : { path: join(FIXTURES, r.imatrix), data: imatrices.get(r.imatrix) as Imatrix },
      });
      const raw = readFileSync(out);
      const file = await readGguf(out);
      let same = 0;
      for (const x of file.tensors) {
        const start = file.dataOffset + x.offset;
        if (sha256(raw.subarray(start, start + x.byteSize)) === r.output.tensors[x.name]?.sha256)
          same++;
      }
      t.diagnostic(`${label(r)}: ${same}/${file.tensors.length} tensors identical (whole file)`);
      assert.equal(same, Object.keys(r.output.tensors).length, label(r));
      if (r.imatrix === null) {
        assert.equal(sha256(raw), r.output.fileSha256, `${label(r)}: file differs`);
      } else {
        // The header names the imatrix file by the path given, which differs between machines.
        const meta = (key: string) => file.metadata.get(key);
        assert.equal(meta("quantize.imatrix.file")?.type, "string");
        assert.equal(meta("quantize.imatrix.entries_count")?.type, "uint32");
      }
    }
  });
});

describe("k-quant names", () => {
  test("every --type name is a plan quantize: name, and the aliases are the _M mixes", () => {
    for (const name of QUANTIZE_TYPE_NAMES) {
      assert.ok(QuantizeType.safeParse(name).success, `plans refuse ${name}`);
    }
    assert.equal(quantizeTarget("Q4_K")?.name, "q4_k_m");
    assert.equal(quantizeTarget("q3_k")?.fileType, 12);
    assert.equal(quantizeTarget("Q5_K_S")?.fileType, 16);
    assert.equal(quantizeTarget("iq2_xxs"), undefined);
  });
});
