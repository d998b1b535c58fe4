import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { splitFiles } from "../../src/datasets/layout.js";

describe("a split's files in Hugging Face's dataset layouts", () => {
  it("finds a config's folder, the Hub's Parquet conversion, data/ and split-named files", () => {
    const arc = [
      "README.md",
      "ARC-Easy/test-00000-of-00001.parquet",
      "ARC-Easy/train-00000-of-00001.parquet",
      "ARC-Challenge/test-00000-of-00001.parquet",
    ];
    assert.deepEqual(splitFiles(arc, "ARC-Challenge", "test"), [
      "ARC-Challenge/test-00000-of-00001.parquet",
    ]);
    assert.deepEqual(splitFiles(arc, "ARC-Easy", "train"), [
      "ARC-Easy/train-00000-of-00001.parquet",
    ]);
    assert.deepEqual(
      splitFiles(
        ["default/test/0000.parquet", "default/test/0001.parquet", "default/train/0000.parquet"],
        "default",
        "test",
      ),
      ["default/test/0000.parquet", "default/test/0001.parquet"],
    );
    const single = [
      "data/test-00001-of-00002.parquet",
      "data/test-00000-of-00002.parquet",
      "data/train-00000-of-00001.parquet",
    ];
    assert.deepEqual(splitFiles(single, undefined, "test"), [
      "data/test-00000-of-00002.parquet",
      "data/test-00001-of-00002.parquet",
    ]);
    assert.deepEqual(splitFiles(["test.jsonl", "train.csv", "contest.jsonl"], undefined, "test"), [
      "test.jsonl",
    ]);
    assert.deepEqual(splitFiles(["wikitext-2-raw-v1-test.parquet"], undefined, "test"), [
      "wikitext-2-raw-v1-test.parquet",
    ]);
  });

  it("takes Hugging Face's split keywords (dev for validation) and leaves other configs' files alone", () => {
    assert.deepEqual(splitFiles(["data/dev.jsonl", "data/test.jsonl"], undefined, "validation"), [
      "data/dev.jsonl",
    ]);
    assert.deepEqual(splitFiles(["x/dev-0.parquet"], "x", "dev"), ["x/dev-0.parquet"]);
    // A config without its folder does not read another config's files.
    assert.deepEqual(splitFiles(["ARC-Easy/test-0.parquet"], "ARC-Challenge", "test"), []);
    assert.throws(
      () => splitFiles(["a/test.parquet", "b/test.parquet"], undefined, "test"),
      /several configs \(a, b\): name one/,
    );
  });
});
