import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { GGML_TYPES, ggmlTypeByName, llamaFileTypeName } from "../../lib/gguf/ggml-types.js";
import {
  GgufError,
  type GgufFile,
  getNumber,
  getString,
  getStringArray,
  readGguf,
} from "../../lib/gguf/reader.js";
import { formatError } from "../../src/cli/format-error.js";
import { fromLeafError, InputError } from "../../src/errors.js";
import { sha256File, summarizeGguf } from "../../src/gguf/summary.js";
import { serializeGgufHeader, ggufValue as v, writeGguf } from "../../src/gguf/writer.js";

const MODELS = fileURLToPath(new URL("../../../../shared/models/", import.meta.url));
const model = (name: string) => join(MODELS, name);
const noModels = existsSync(MODELS) ? false : `no test models at ${MODELS}`;
const F32 = 0;
const F16 = 1;
const Q8_0 = 8;

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "qbench-gguf-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Expects readGguf to fail with a BAD_MODEL error naming the file and matching `pattern`. */
async function rejects(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(readGguf(path), (err: unknown) => {
    assert.ok(err instanceof GgufError, `expected GgufError, got ${String(err)}`);
    assert.equal(err.code, "BAD_MODEL");
    assert.equal(err.location, path);
    assert.ok(err.message.startsWith(`${path}: `), err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

async function truncatedCopy(name: string, bytes: number): Promise<string> {
  const path = join(dir, `${name}.${bytes}`);
  await copyFile(model(name), path);
  await truncate(path, bytes);
  return path;
}

// Expected values come from llama.cpp's gguf-py GGUFReader and struct.unpack run on the same files.
describe("real models", { skip: noModels }, () => {
  const stories = {
    "stories260K-f32.gguf": {
      fileType: "ALL_F32",
      kv: 18,
      dataOffset: 14112,
      types: { F32: { count: 48, bytes: 1171200 } },
    },
    "stories260K-f16.gguf": {
      fileType: "MOSTLY_F16",
      kv: 19,
      dataOffset: 14176,
      types: { F16: { count: 37, bytes: 584192 }, F32: { count: 11, bytes: 2816 } },
    },
    "stories260K-q8_0.gguf": {
      fileType: "MOSTLY_Q8_0",
      kv: 19,
      dataOffset: 14176,
      types: {
        Q8_0: { count: 32, bytes: 251872 },
        F16: { count: 5, bytes: 110080 },
        F32: { count: 11, bytes: 2816 },
      },
    },
    "stories260K-q4_0.gguf": {
      fileType: "MOSTLY_Q4_0",
      kv: 19,
      dataOffset: 14176,
      types: {
        Q4_0: { count: 32, bytes: 133344 },
        F16: { count: 5, bytes: 110080 },
        F32: { count: 11, bytes: 2816 },
      },
    },
  };
  for (const [name, want] of Object.entries(stories)) {
    test(`${name}: header, tensor table and summary`, async () => {
      const file = await readGguf(model(name));
      assert.equal(file.version, 3);
      assert.equal(file.alignment, 32);
      assert.equal(file.dataOffset, want.dataOffset);
      assert.equal(file.metadata.size, want.kv);
      assert.equal(file.tensors.length, 48);
      const s = summarizeGguf(file);
      const tensorBytes = Object.values(want.types).reduce((a, t) => a + t.bytes, 0);
      assert.deepEqual(s, {
        architecture: "llama",
        name: "tinyllamas-stories-260k",
        fileType: want.fileType,
        fileTypeDescription: s.fileTypeDescription,
        parameterCount: 292800,
        fileSize: file.fileSize,
        tensorBytes,
        tensorCount: 48,
        tensorTypes: want.types,
        bitsPerWeight: (8 * tensorBytes) / 292800,
        contextLength: 512,
        vocabularySize: 512,
        tokenizerModel: "llama",
        embeddingLength: 64,
        blockCount: 5,
        headCount: 8,
        headCountKv: 4,
      });
      const tokens = getStringArray(file, "tokenizer.ggml.tokens");
      assert.deepEqual(tokens.slice(0, 6), ["<unk>", "<s>", "</s>", "<0x00>", "<0x01>", "<0x02>"]);
      assert.equal(tokens[259], "▁t");
    });
  }

  test("stories260K-q8_0.gguf: individual tensors", async () => {
    const file = await readGguf(model("stories260K-q8_0.gguf"));
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    assert.deepEqual(byName.get("output.weight"), {
      name: "output.weight",
      dims: [64, 512],
      type: Q8_0,
      typeName: "Q8_0",
      offset: 0,
      byteSize: 34816,
      elementCount: 32768,
    });
    assert.deepEqual(byName.get("blk.0.ffn_down.weight"), {
      name: "blk.0.ffn_down.weight",
      dims: [172, 64],
      type: F16,
      typeName: "F16",
      offset: 83200,
      byteSize: 22016,
      elementCount: 11008,
    });
    assert.equal(byName.get("blk.4.ffn_up.weight")?.offset, 353216);
    assert.equal(getNumber(file, "general.quantization_version"), 2);
    assert.equal(summarizeGguf(file).fileTypeDescription, "Q8_0");
  });

  test("llama-2-tiny-random.gguf: 32,000-token vocabulary", async () => {
    const file = await readGguf(model("llama-2-tiny-random.gguf"));
    assert.equal(file.dataOffset, 724416);
    assert.equal(file.tensors.length, 12);
    const tokens = getStringArray(file, "tokenizer.ggml.tokens");
    assert.equal(tokens.length, 32000);
    assert.deepEqual(
      [0, 1, 2, 3, 13, 100, 259, 31999].map((i) => tokens[i]),
      ["<unk>", "<s>", "</s>", "<0x00>", "<0x0A>", "<0x61>", "▁▁", "给"],
    );
    const scores = file.metadata.get("tokenizer.ggml.scores");
    assert.ok(scores?.type === "array" && scores.items instanceof Float32Array);
    assert.deepEqual([scores.items[0], scores.items[300], scores.items[31999]], [0, -41, -31740]);
    const kinds = file.metadata.get("tokenizer.ggml.token_type");
    assert.ok(kinds?.type === "array" && kinds.items instanceof Int32Array);
    assert.deepEqual([kinds.items[0], kinds.items[3], kinds.items[300]], [2, 6, 1]);
    assert.equal(getNumber(file, "llama.attention.layer_norm_rms_epsilon"), Math.fround(1e-5));
    const s = summarizeGguf(file);
    assert.equal(s.name, "LLaMA v2");
    assert.equal(s.vocabularySize, 32000);
    assert.equal(s.contextLength, 4096);
    assert.equal(s.parameterCount, 513048);
    assert.equal(s.fileType, "MOSTLY_F16");
    assert.deepEqual(s.tensorTypes, {
      F16: { count: 9, bytes: 1026048 },
      F32: { count: 3, bytes: 96 },
    });
  });

  test("typed getters name the key and the wrong type", async () => {
    const path = model("stories260K-f32.gguf");
    const file = await readGguf(path);
    assert.throws(() => getString(file, "llama.context_length"), {
      message: `${path}: metadata llama.context_length must be a string but is uint32`,
    });
    assert.throws(() => getNumber(file, "llama.nope"), {
      message: `${path}: metadata key llama.nope is missing`,
    });
    assert.throws(
      () => getNumber(file, "tokenizer.ggml.tokens"),
      /must be a number but is array of string/,
    );
  });

  test("sha256File streams the file", async () => {
    let seen = 0;
    const hash = await sha256File(model("stories260K-q8_0.gguf"), (n) => {
      seen = n;
    });
    assert.equal(hash, "9a4d59657a7457cba42e9dada8fa1d736798cd0aeafd50d161c10bc47d21284f");
    assert.equal(seen, 379104);
    assert.equal(
      await sha256File(model("llama-2-tiny-random.gguf")),
      "81f226c62d28ed4a1a9b9fa080fcd9f0cc40e0f9d5680036583ff98fbcd035cb",
    );
  });

  test("writer reproduces a llama.cpp file byte for byte", async () => {
    const src = model("stories260K-q4_0.gguf");
    const file = await readGguf(src);
    const original = await readFile(src);
    const header = serializeGgufHeader({
      version: 3,
      metadata: file.metadata,
      tensors: file.tensors,
    });
    assert.equal(header.length, file.dataOffset);
    assert.ok(header.equals(original.subarray(0, file.dataOffset)));
    const copy = join(dir, "copy.gguf");
    const at = (t: GgufFile["tensors"][number]) => file.dataOffset + t.offset;
    await writeGguf(copy, {
      version: 3,
      metadata: file.metadata,
      tensors: file.tensors.map((t) => ({
        ...t,
        data: original.subarray(at(t), at(t) + t.byteSize),
      })),
    });
    assert.ok((await readFile(copy)).equals(original));
  });

  const tiny = "llama-2-tiny-random.gguf";
  test("truncated inside the header", async () => {
    const path = await truncatedCopy(tiny, 20);
    await rejects(
      path,
      /truncated: reading tensor count and metadata count needs bytes \[8, 24\) but the file has 20 bytes$/,
    );
  });
  test("truncated inside the metadata", async () => {
    await rejects(
      await truncatedCopy(tiny, 300000),
      /truncated: reading metadata key 12 \(tokenizer\.ggml\.tokens\) value, element 20636 of 32000 needs bytes \[299997, 300005\) but the file has 300000 bytes$/,
    );
    // So short that the token count itself cannot fit: reported as a count the file cannot hold.
    await rejects(
      await truncatedCopy(tiny, 100000),
      /metadata key 12 \(tokenizer\.ggml\.tokens\) value element count at offset \d+ is 32000, but .* \(corrupt count or truncated file\)$/,
    );
  });
  test("truncated inside the tensor table", async () => {
    await rejects(
      await truncatedCopy(tiny, 723800),
      /truncated: reading tensor info 1 \(blk\.0\.attn_q\.weight\) dims, type and offset needs bytes \[723797, 723825\) but the file has 723800 bytes$/,
    );
  });
  test("truncated inside the tensor data", async () => {
    await rejects(
      await truncatedCopy(tiny, 1000000),
      /truncated: tensor token_embd\.weight needs bytes \[724416, 1236416\) but the file has 1000000 bytes$/,
    );
    await rejects(
      await truncatedCopy(tiny, 1750559),
      /truncated: tensor output\.weight needs bytes \[1238560, 1750560\) but the file has 1750559 bytes$/,
    );
  });
});

describe("malformed files", () => {
  const make = async (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };
  const header = (tensors: { name: string; dims: number[]; type: number; offset?: number }[]) =>
    serializeGgufHeader({ metadata: { "general.architecture": v.string("llama") }, tensors });

  test("bad magic names the first four bytes", async () => {
    const path = await make("zip.gguf", Buffer.from("PK\x03\x04 not a model", "latin1"));
    await rejects(
      path,
      /not a GGUF file: expected magic "GGUF" .* first 4 bytes are 50 4b 03 04 \("PK\.\."\)$/,
    );
    await rejects(await make("tiny.gguf", Buffer.from("GG")), /only 2 bytes long/);
  });
  test("qbench maps the reader's own error to bad input: exit 2, the reader's message", async () => {
    const path = await make("not.gguf", Buffer.from("not a model at all"));
    const err = await readGguf(path).then(
      () => assert.fail("readGguf accepted a text file"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof GgufError);
    const mapped = fromLeafError(err);
    assert.ok(mapped instanceof InputError, `expected InputError, got ${String(mapped)}`);
    assert.equal(mapped.code, "BAD_MODEL");
    assert.equal(mapped.location, path);
    assert.equal(mapped.message, err.message);
    assert.deepEqual(formatError(err, false), { stderr: `qbench: ${err.message}\n`, exitCode: 2 });
  });
  test("version 1 and unknown versions are refused", async () => {
    const bytes = header([]);
    bytes.writeUInt32LE(1, 4);
    await rejects(
      await make("v1.gguf", bytes),
      /GGUF version 1 is not supported \(it used 32-bit counts/,
    );
    bytes.writeUInt32LE(4, 4);
    await rejects(
      await make("v4.gguf", bytes),
      /unsupported GGUF version 4; only versions 2 and 3/,
    );
    bytes.writeUInt32LE(2, 4);
    assert.equal((await readGguf(await make("v2.gguf", bytes))).version, 2);
  });
  test("unknown and removed tensor types name the tensor and the id", async () => {
    const bytes = header([{ name: "blk.0.weird", dims: [32], type: 99, offset: 0 }]);
    await rejects(
      await make("t99.gguf", bytes),
      /tensor blk\.0\.weird has unknown ggml type id 99$/,
    );
    const removed = header([{ name: "old", dims: [32], type: 4, offset: 0 }]);
    await rejects(
      await make("t4.gguf", removed),
      /tensor old has removed ggml type Q4_2 \(id 4\)$/,
    );
  });
  test("absurd counts are refused before allocating", async () => {
    const bytes = header([]);
    bytes.writeBigUInt64LE(1n << 60n, 8);
    await rejects(
      await make("n60.gguf", bytes),
      /tensor count at offset 8 is 1152921504606846976, over 2\^53$/,
    );
    bytes.writeBigUInt64LE(1n << 40n, 8);
    await rejects(
      await make("n40.gguf", bytes),
      /tensor count at offset 8 is 1099511627776, but .*corrupt count/,
    );
    const arr = serializeGgufHeader({
      metadata: { x: v.array("uint8", new Uint8Array(3)) },
      tensors: [],
    });
    arr.writeBigUInt64LE(1n << 45n, 41); // 24-byte header, key "x" (9), type (4), element type (4)
    await rejects(
      await make("arr.gguf", arr),
      /metadata key 0 \(x\) value element count at offset 41 is 35184372088832/,
    );
  });
  test("huge arrays inside a big (sparse) file and unknown value types", async () => {
    const arr = serializeGgufHeader({
      metadata: { x: v.array("uint8", new Uint8Array(3)) },
      tensors: [],
    });
    arr.writeBigUInt64LE(1n << 31n, 41);
    const path = await make("big.gguf", arr);
    await truncate(path, 3 * 2 ** 30);
    await rejects(
      path,
      /metadata key 0 \(x\) value is an array of 2147483648 uint8 values, over the 1 GiB limit$/,
    );
    const bad = serializeGgufHeader({ metadata: { x: v.uint8(1) }, tensors: [] });
    bad.writeUInt32LE(13, 33);
    await rejects(
      await make("type13.gguf", bad),
      /metadata key 0 \(x\) value has unknown value type 13 \(at offset 33\)$/,
    );
  });
  test("misaligned offsets, bad alignment, rows that split a block", async () => {
    const mis = header([{ name: "w", dims: [8], type: F32, offset: 16 }]);
    await rejects(
      await make("mis.gguf", Buffer.concat([mis, Buffer.alloc(64)])),
      /tensor w has data offset 16, not a multiple of the alignment 32$/,
    );
    const align = serializeGgufHeader({
      metadata: { "general.alignment": v.uint32(48) },
      tensors: [],
    });
    await rejects(await make("a48.gguf", align), /general\.alignment is 48, not a power of 2/);
    const split = header([{ name: "ffn", dims: [172, 2], type: Q8_0, offset: 0 }]);
    await rejects(
      await make("split.gguf", Buffer.concat([split, Buffer.alloc(1024)])),
      /tensor ffn of type Q8_0 has rows of 172 elements, not a multiple of its block size 32/,
    );
  });
});

describe("writer round trip", () => {
  test("every value type, nested arrays, windows crossed, data placed at its offset", async () => {
    const tokens = Array.from({ length: 256_000 }, (_, i) => `tok_${i}_ü`);
    const metadata = new Map([
      ["general.architecture", v.string("llama")],
      ["general.alignment", v.uint32(64)],
      ["u8", v.uint8(255)],
      ["i8", v.int8(-128)],
      ["u16", v.uint16(65535)],
      ["i16", v.int16(-32768)],
      ["i32", v.int32(-2147483648)],
      ["f32", v.float32(Math.fround(0.1))],
      ["f64", v.float64(0.1)],
      ["u64", v.uint64(2n ** 64n - 1n)],
      ["i64", v.int64(-(2n ** 63n))],
      ["yes", v.bool(true)],
      ["long", v.string("x".repeat(3 << 20))],
      ["tokenizer.ggml.tokens", v.array("string", tokens)],
      [
        "floats",
        v.array(
          "float32",
          Float32Array.from({ length: 1 << 20 }, (_, i) => i / 7),
        ),
      ],
      ["u64s", v.array("uint64", BigUint64Array.of(1n, 2n ** 63n))],
      ["bools", v.array("bool", [true, false, true])],
      [
        "nested",
        v.array("array", [v.array("int16", Int16Array.of(1, -2)), v.array("string", ["a"])]),
      ],
    ]);
    const a = Buffer.alloc(8 * 4 * 4, 7);
    const b = Buffer.alloc(32 * 2 * 2, 9);
    const path = join(dir, "round.gguf");
    await writeGguf(path, {
      version: 3,
      metadata,
      tensors: [
        { name: "a", dims: [8, 4], type: F32, data: a },
        { name: "b", dims: [32, 2], type: F16, data: b },
      ],
    });
    const file = await readGguf(path);
    assert.deepEqual(file.metadata, metadata);
    assert.equal(file.alignment, 64);
    assert.equal(file.dataOffset % 64, 0);
    assert.deepEqual(
      file.tensors.map((t) => [t.name, t.offset, t.byteSize]),
      [
        ["a", 0, 128],
        ["b", 128, 128],
      ],
    );
    const raw = await readFile(path);
    assert.ok(raw.subarray(file.dataOffset, file.dataOffset + 128).equals(a));
    assert.ok(raw.subarray(file.dataOffset + 128, file.dataOffset + 256).equals(b));
    assert.equal(summarizeGguf(file).vocabularySize, 256_000);
  });
  test("writeGguf refuses data of the wrong size and leaves nothing behind", async () => {
    const path = join(dir, "wrong.gguf");
    const tensors = [{ name: "a", dims: [4], type: F32, data: Buffer.alloc(15) }];
    await assert.rejects(
      writeGguf(path, { metadata: {}, tensors }),
      /tensor a has 15 bytes of data but its type and shape need 16/,
    );
    assert.equal(existsSync(path), false);
  });
});

test("ggml type table matches ggml's type_traits", () => {
  const q = (name: string) => ggmlTypeByName(name);
  assert.deepEqual(q("q4_k"), {
    id: 12,
    name: "Q4_K",
    blockSize: 256,
    typeSize: 144,
    quantized: true,
  });
  assert.deepEqual(
    [q("Q8_0")?.typeSize, q("Q6_K")?.typeSize, q("IQ4_XS")?.typeSize, q("MXFP4")?.typeSize],
    [34, 210, 136, 17],
  );
  assert.equal(GGML_TYPES.get(30)?.name, "BF16");
  for (const removed of [4, 5, 31, 32, 33, 36, 37, 38])
    assert.equal(GGML_TYPES.has(removed), false);
  assert.equal(llamaFileTypeName(15), "MOSTLY_Q4_K_M");
});
