import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  bf16FromFloatBits,
  bf16ToFp32,
  FP16_TO_FP32,
  fp16FromFloatBits,
  fp32ToFp16,
} from "../../src/gguf/fp16.js";
import { roundf, toInt8, toUint8 } from "../../src/gguf/quantize/c-float.js";
import { BF16, F16 } from "../../src/gguf/quantize/float-formats.js";
import { Q4_0 } from "../../src/gguf/quantize/q4-0.js";
import { Q4_1 } from "../../src/gguf/quantize/q4-1.js";
import { Q5_0 } from "../../src/gguf/quantize/q5-0.js";
import { Q5_1 } from "../../src/gguf/quantize/q5-1.js";
import { Q8_0 } from "../../src/gguf/quantize/q8-0.js";
import type { BlockFormat } from "../../src/gguf/quantize/types.js";
import { ROOT } from "../support/paths.js";

/**
 * test/fixtures/quantize/block-reference.json: what llama.cpp's own quantize_row_*_ref,
 * dequantize_row_*, ggml_fp32_to_fp16_row and ggml_fp32_to_bf16_row_ref (libggml-base.so, the
 * library llama-quantize runs) produced for these rows; made by block-reference.c.
 */
interface BlockReference {
  cases: ({
    name: string;
    input: string[];
    f16: string;
    bf16: string;
  } & Record<
    "q4_0" | "q4_1" | "q5_0" | "q5_1" | "q8_0",
    { bytes: string; dequantized: string[] }
  >)[];
  conversions: { input: string[]; f16: string; bf16: string };
  f16ToF32Fnv1a: string;
}

const reference = JSON.parse(
  readFileSync(join(ROOT, "test/fixtures/quantize/block-reference.json"), "utf8"),
) as BlockReference;

const floats = (hex: readonly string[]) =>
  new Float32Array(Uint32Array.from(hex, (h) => Number.parseInt(h, 16)).buffer);
const bitsHex = (y: Float32Array) =>
  Array.from(new Uint32Array(y.buffer, y.byteOffset, y.length), (u) =>
    u.toString(16).padStart(8, "0"),
  );
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

function quantize(format: BlockFormat, x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / format.blockSize) * format.typeSize);
  format.quantizeRow(x, out);
  return out;
}

const BLOCK_FORMATS = { q4_0: Q4_0, q4_1: Q4_1, q5_0: Q5_0, q5_1: Q5_1, q8_0: Q8_0 } as const;

describe("block quantizers match llama.cpp's reference code byte for byte", () => {
  for (const [key, format] of Object.entries(BLOCK_FORMATS)) {
    test(`${format.name}: ${reference.cases.length} rows (zeros, huge, negative max, ties, denormals, NaN, infinities, random)`, () => {
      for (const c of reference.cases) {
        const want = c[key as keyof typeof BLOCK_FORMATS];
        assert.equal(
          hex(quantize(format, floats(c.input))),
          want.bytes,
          `${format.name}: ${c.name}`,
        );
      }
    });
    test(`${format.name}: dequantized as ggml's to_float does (for --allow-requantize)`, () => {
      for (const c of reference.cases) {
        const want = c[key as keyof typeof BLOCK_FORMATS];
        const y = new Float32Array(c.input.length);
        format.dequantizeRow(Uint8Array.from(Buffer.from(want.bytes, "hex")), y);
        assert.deepEqual(bitsHex(y), want.dequantized, `${format.name}: ${c.name}`);
      }
    });
  }
  for (const [key, format] of [
    ["f16", F16],
    ["bf16", BF16],
  ] as const) {
    test(`${format.name} rows: ggml's conversion on the same rows`, () => {
      for (const c of reference.cases) {
        assert.equal(hex(quantize(format, floats(c.input))), c[key], `${format.name}: ${c.name}`);
      }
    });
  }
});

describe("fp16 / bf16 scalar conversions match ggml", () => {
  const input = Uint32Array.from(reference.conversions.input, (h) => Number.parseInt(h, 16));
  const f16 = Buffer.from(reference.conversions.f16, "hex");
  const bf16 = Buffer.from(reference.conversions.bf16, "hex");

  test(`fp32 → fp16 on ${input.length} values (specials, ties, random bit patterns)`, () => {
    let same = 0;
    for (const [i, w] of input.entries()) {
      assert.equal(fp16FromFloatBits(w), f16.readUInt16LE(2 * i), `bits ${w.toString(16)}`);
      same++;
    }
    assert.equal(same, input.length);
  });

  test(`fp32 → bf16 on ${input.length} values`, () => {
    for (const [i, w] of input.entries()) {
      assert.equal(bf16FromFloatBits(w), bf16.readUInt16LE(2 * i), `bits ${w.toString(16)}`);
    }
  });

  test("all 65536 fp16 → fp32 values: FNV-1a of the table equals ggml_fp16_to_fp32_row's", () => {
    let fnv = 2166136261;
    for (const b of new Uint32Array(FP16_TO_FP32.buffer)) {
      for (let k = 0; k < 4; k++) {
        fnv ^= (b >>> (8 * k)) & 0xff;
        fnv = Math.imul(fnv, 16777619) >>> 0;
      }
    }
    assert.equal(fnv.toString(16).padStart(8, "0"), reference.f16ToF32Fnv1a);
  });

  test("round to nearest even at fp16 ties, NaN made quiet, overflow to infinity", () => {
    assert.equal(fp32ToFp16(1 + 2 ** -11), 0x3c00); // tie between 1 and 1 + 2^-10: even wins
    assert.equal(fp32ToFp16(1 + 3 * 2 ** -11), 0x3c02); // tie: rounds up to the even mantissa
    assert.equal(fp32ToFp16(65504), 0x7bff);
    assert.equal(fp32ToFp16(65520), 0x7c00); // halfway to 65536 rounds to infinity
    assert.equal(fp32ToFp16(-0), 0x8000);
    assert.equal(fp32ToFp16(2 ** -25), 0x0000); // half the smallest subnormal: tie to even 0
    assert.equal(fp32ToFp16(3 * 2 ** -25), 0x0002); // 1.5 subnormals: tie to even 2
    assert.equal(fp16FromFloatBits(0xffc00001), 0xfe00);
    assert.equal(bf16FromFloatBits(0x7f800001), 0x7fc0);
    assert.equal(bf16ToFp32(0x3f80), 1);
  });
});

describe("C float → integer steps as x86-64 runs them", () => {
  test("roundf: halves away from zero", () => {
    assert.deepEqual(
      [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0.49999997, -126.5, 126.5, -3.25].map(
        (x) => roundf(x) | 0,
      ),
      [1, 2, 3, -1, -2, -3, 0, 0, -127, 127, -3],
    );
  });

  test("(int8_t) / (uint8_t) of a float: truncation, low byte; NaN and ±inf give 0", () => {
    assert.deepEqual([8.99, -0.99, 16.5, 255.5, 300].map(toInt8), [8, 0, 16, -1, 44]);
    assert.deepEqual(
      [Number.NaN, Number.POSITIVE_INFINITY, -Infinity, 2 ** 40].map(toInt8),
      [0, 0, 0, 0],
    );
    assert.deepEqual([31.9, 32.5, 256.7, Number.NaN].map(toUint8), [31, 32, 0, 0]);
  });
});

describe("hand-made rows: the choices the reference code makes", () => {
  test("all zeros: Q4_0 stores d = -0 (0 / -8) and the middle code 8 everywhere", () => {
    const q = quantize(Q4_0, new Float32Array(32));
    assert.equal(hex(q.subarray(0, 2)), "0080");
    assert.ok(q.subarray(2).every((b) => b === 0x88));
  });

  test("Q4_0: the first value of largest magnitude sets the sign of d", () => {
    const x = new Float32Array(32);
    x[3] = -4;
    x[9] = 4;
    const q = quantize(Q4_0, x);
    assert.equal(Buffer.from(q).readUInt16LE(0), fp32ToFp16(0.5)); // d = -4 / -8
    assert.equal((q[2 + 3] ?? 0) & 0x0f, 0); // -4 / 0.5 + 8.5 = 0.5 → 0
    assert.equal((q[2 + 9] ?? 0) & 0x0f, 15); // 4 / 0.5 + 8.5 = 16.5 → 16, clamped to 15
  });

  test("Q8_0: a single huge value overflows the fp16 scale to infinity (the file writer refuses it)", () => {
    const x = new Float32Array(32);
    x[0] = 1e30;
    const q = quantize(Q8_0, x);
    assert.equal(Buffer.from(q).readUInt16LE(0), 0x7c00);
    assert.equal(Q8_0.findInvalidBlock(q), 0);
  });
});
