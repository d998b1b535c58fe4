import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Tokenizer } from "../../../runners/webgpu/tokenizer.js";
import { ROOT } from "../../support/paths.js";
import { bundledVocab } from "../../support/real-shape.js";

const FIXTURES = join(ROOT, "test/fixtures/tokenizer");
const VOCABS = ["llama-bpe", "llama-spm", "qwen2", "phi-3", "gemma-4"];

/** llama.cpp's test pairs, split as tests/test-tokenizer-0.cpp splits them. */
function readPairs(name: string): Array<{ text: string; ids: number[] }> {
  const raw = readFileSync(join(FIXTURES, `ggml-vocab-${name}.gguf.inp`), "utf8");
  const texts = raw.split("\n__ggml_vocab_test__\n");
  // The C++ reader stops at the end of the file: a trailing separator opens no empty test.
  if (raw.endsWith("\n__ggml_vocab_test__\n")) texts.pop();
  const lines = readFileSync(join(FIXTURES, `ggml-vocab-${name}.gguf.out`), "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  assert.equal(texts.length, lines.length, `${name}: .inp and .out hold different counts`);
  return texts.map((text, i) => ({
    text,
    ids: (lines[i] as string).trim().split(" ").filter(Boolean).map(Number),
  }));
}

describe("the WebGPU runner's tokenizer gives llama.cpp's ids for each family's vocabulary", () => {
  const dir = mkdtempSync(join(tmpdir(), "qbench-tokenizer-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const multilingual = readFileSync(join(FIXTURES, "multilingual.txt"), "utf8");
  for (const name of VOCABS) {
    it(`${name}: llama.cpp's own test pairs and the multilingual text`, async (t) => {
      const tokenizer = await Tokenizer.open(bundledVocab(dir, name));
      try {
        const pairs = readPairs(name);
        const wrong = pairs.filter(({ text, ids }) => {
          const got = tokenizer.tokenize(text, false);
          return got.length !== ids.length || got.some((id, i) => id !== ids[i]);
        });
        const expected = JSON.parse(
          readFileSync(join(FIXTURES, `multilingual.${name}.ids`), "utf8"),
        ) as number[];
        const got = tokenizer.tokenize(multilingual, false);
        const firstDiff = got.findIndex((id, i) => id !== expected[i]);
        const ids = pairs.reduce((n, p) => n + p.ids.length, 0) + expected.length;
        t.diagnostic(
          `${name}: ${pairs.length + 1} texts, ${ids} ids compared; mismatching texts ${wrong.length + (firstDiff >= 0 || got.length !== expected.length ? 1 : 0)}`,
        );
        assert.deepEqual(
          wrong.map((w) => w.text),
          [],
          "texts whose ids differ from llama.cpp's test pairs",
        );
        assert.deepEqual(got, expected);
      } finally {
        await tokenizer.dispose();
      }
    });
  }
});
