import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readGguf } from "../../lib/gguf/reader.js";
import { readImatrixFile, writeImatrix } from "../../src/gguf/imatrix-file.js";
import { readImatrix } from "../../src/gguf/quantize/imatrix.js";
import { tempDir } from "../support/cli.js";

describe("the imatrix GGUF writer (llama-imatrix's save_imatrix layout)", () => {
  const dir = tempDir("qbench-imatrix-file-");
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = {
    datasets: ["calib.txt"],
    chunkCount: 2,
    chunkSize: 4,
    matrices: [
      // A merged-experts tensor: two matrices of 3 columns, each with its own count.
      { name: "blk.0.ffn_up_exps.weight", sums: [1, 2, 3, 4, 5, 6], counts: [8, 2] },
      { name: "blk.0.attn_q.weight", sums: [0.5, 1.5], counts: [8] },
    ],
  };

  it("writes entries in name order, 1-D for a dense matrix, [columns, experts] for experts; reads back raw and as quantize uses it", async () => {
    const path = join(dir, "x.imatrix.gguf");
    await writeImatrix(path, file);
    const gguf = await readGguf(path);
    assert.deepEqual(
      gguf.tensors.map((t) => [t.name, t.dims]),
      [
        ["blk.0.attn_q.weight.in_sum2", [2]],
        ["blk.0.attn_q.weight.counts", [1]],
        ["blk.0.ffn_up_exps.weight.in_sum2", [3, 2]],
        ["blk.0.ffn_up_exps.weight.counts", [1, 2]],
      ],
    );
    assert.equal(gguf.metadata.get("general.type")?.type, "string");
    const back = await readImatrixFile(path);
    assert.deepEqual(back, { ...file, matrices: [...file.matrices].reverse() });
    const used = await readImatrix(path);
    assert.deepEqual(Array.from(used.entries.get("blk.0.ffn_up_exps.weight") ?? []), [
      1 / 8,
      2 / 8,
      3 / 8,
      2,
      2.5,
      3,
    ]);
    assert.equal(used.chunkCount, 2);
    assert.deepEqual(used.datasets, ["calib.txt"]);
  });

  it("refuses sums that do not split into the counts' matrices, naming the entry", async () => {
    await assert.rejects(
      writeImatrix(join(dir, "bad.gguf"), {
        ...file,
        matrices: [{ name: "blk.1.attn_k.weight", sums: [1, 2, 3], counts: [1, 1] }],
      }),
      /blk\.1\.attn_k\.weight: 3 sums do not split into 2 matrices/,
    );
  });
});
