import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { splitFiles } from "../../src/datasets/layout.js";
import { loadSplits } from "../../src/datasets/load.js";
import { globRegex, matchFiles } from "../../src/datasets/readme-configs.js";

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

describe("a dataset card's configs: (README.md front matter) and data_files globs", () => {
  const card = (yaml: string) => `---\n${yaml}\n---\n# a dataset\n`;

  it("globs as huggingface_hub's fsspec: * and ? within a segment, ** across, [..] a class", () => {
    const paths = [
      "data/train-00000-of-00002.parquet",
      "data/train-00001-of-00002.parquet",
      "data/sub/train-9.parquet",
      "data/test-0.parquet",
      "data/.hidden/train-x.parquet",
      "train-a.jsonl",
    ];
    assert.deepEqual(matchFiles(paths, ["data/train-*"]), [
      "data/train-00000-of-00002.parquet",
      "data/train-00001-of-00002.parquet",
    ]);
    assert.deepEqual(matchFiles(paths, ["data/**/train-*"]), [
      "data/sub/train-9.parquet",
      "data/train-00000-of-00002.parquet",
      "data/train-00001-of-00002.parquet",
    ]);
    assert.deepEqual(matchFiles(paths, ["data/test-?.parquet", "train-[ab].jsonl"]), [
      "data/test-0.parquet",
      "train-a.jsonl",
    ]);
    assert.deepEqual(matchFiles(paths, ["**"]).length, 5, "** leaves hidden folders out");
    assert.equal(globRegex("a.b").test("axb"), false, "a dot is literal");
  });

  it("reads a temporary folder by its card: config by dataset_name, split by name, else the default config; without configs: the inference", () => {
    const dir = mkdtempSync(join(tmpdir(), "qbench-card-"));
    const put = (path: string, rows: object[]) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
    };
    // File names no inference would give the split they are declared for.
    put("raw/alpha/part-1.jsonl", [{ q: "a1" }]);
    put("raw/alpha/part-2.jsonl", [{ q: "a2" }]);
    put("raw/alpha/heldout.jsonl", [{ q: "a-test" }]);
    put("raw/beta/all.jsonl", [{ q: "b-test" }]);
    writeFileSync(
      join(dir, "README.md"),
      card(
        [
          "pretty_name: two configs",
          "configs:",
          "- config_name: alpha",
          "  default: true",
          "  data_files:",
          "  - split: train",
          '    path: "raw/alpha/part-*"',
          "  - split: test",
          "    path: [raw/alpha/heldout.jsonl]",
          "- config_name: beta",
          "  data_files:",
          "  - split: test",
          "    path: raw/**/all.jsonl",
        ].join("\n"),
      ),
    );
    const spec = (name: string | undefined) => ({
      path: dir,
      name,
      dataFiles: undefined,
      revision: undefined,
      baseDir: dir,
      at: "t.yaml:1",
    });
    const env = { cacheDir: dir, endpoint: "http://127.0.0.1:9", token: undefined, offline: true };
    const alpha = loadSplits(spec("alpha"), ["train", "test"], env);
    assert.deepEqual(
      alpha.get("train")?.map((r) => r.row),
      [{ q: "a1" }, { q: "a2" }],
    );
    assert.deepEqual(
      alpha.get("test")?.map((r) => r.row),
      [{ q: "a-test" }],
    );
    assert.deepEqual(
      loadSplits(spec("beta"), ["test"], env)
        .get("test")
        ?.map((r) => r.row),
      [{ q: "b-test" }],
    );
    assert.deepEqual(
      loadSplits(spec(undefined), ["test"], env)
        .get("test")
        ?.map((r) => r.row),
      [{ q: "a-test" }],
    );
    assert.throws(
      () => loadSplits(spec("gamma"), ["test"], env),
      /no config "gamma" \(it has alpha, beta\)/,
    );
    assert.throws(
      () => loadSplits(spec("beta"), ["train"], env),
      /t\.yaml:1.*no data files for split "train" \(config beta\)|no data files for split "train" \(config beta\)/,
    );
    // dataset_kwargs.data_files globs, relative to the task's folder.
    const kwargs = {
      ...spec(undefined),
      path: "json",
      dataFiles: { train: ["raw/*/part-?.jsonl"] },
    };
    assert.deepEqual(
      loadSplits(kwargs, ["train"], env)
        .get("train")
        ?.map((r) => r.row),
      [{ q: "a1" }, { q: "a2" }],
    );
    const none = { ...kwargs, dataFiles: { train: ["raw/*.csv"] } };
    assert.throws(
      () => loadSplits(none, ["train"], env),
      /data_files "raw\/\*\.csv" matches no file/,
    );
    // A card without configs: the file-name inference as before.
    writeFileSync(join(dir, "README.md"), card("pretty_name: none"));
    put("test.jsonl", [{ q: "inferred" }]);
    assert.deepEqual(
      loadSplits(spec(undefined), ["test"], env)
        .get("test")
        ?.map((r) => r.row),
      [{ q: "inferred" }],
    );
  });

  it("data_files as one pattern (split train), a split mapping, and data_dir alone (inference inside it)", () => {
    const paths = ["x/a.csv", "x/b.csv", "d/test.jsonl", "d/train.jsonl", "test.jsonl"];
    assert.deepEqual(
      splitFiles(paths, undefined, "train", card("configs:\n- data_files: x/*.csv")),
      ["x/a.csv", "x/b.csv"],
    );
    assert.deepEqual(
      splitFiles(paths, undefined, "test", card("configs:\n- data_files: { test: d/test.jsonl }")),
      ["d/test.jsonl"],
    );
    assert.deepEqual(
      splitFiles(paths, "c", "test", card("configs:\n- config_name: c\n  data_dir: d")),
      ["d/test.jsonl"],
    );
    assert.throws(
      () =>
        splitFiles(
          paths,
          undefined,
          "test",
          card("configs:\n- config_name: a\n  data_dir: d\n- config_name: b\n  data_dir: x"),
        ),
      /several \(a, b\): name one \(dataset_name\)/,
    );
  });
});
