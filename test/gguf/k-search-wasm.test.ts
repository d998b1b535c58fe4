import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  makeQkxQuants,
  makeQxQuants,
  searchResult,
} from "../../src/gguf/quantize/k-search-kernels.js";
import { ROOT } from "../support/paths.js";

// The searches' bytes are checked against llama-quantize by quantize-kquants.test.ts; this holds
// the committed module to its source and the wrappers to their limits.
describe("the k-quant searches' WebAssembly", () => {
  test("src/gguf/quantize/k-search-wasm.ts is what asm/k-search.ts compiles to", () => {
    const run = spawnSync(process.execPath, [join(ROOT, "scripts/build-wasm.mjs"), "--check"], {
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /up to date \(\d+ bytes\)/);
  });

  test("a group that is not a multiple of 4 values, or over 256, is refused", () => {
    const x = new Float32Array(300);
    const L = new Uint8Array(300);
    assert.throws(() => makeQxQuants(18, 4, x, 0, L, 0, 1, null, 0), /group of 18 values/);
    assert.throws(
      () => makeQkxQuants(260, 15, x, 0, new Float32Array(300), L, 0, -1, 0.1, 20, false),
      /group of 260 values/,
    );
  });

  test("an all-zero group gives level 0 (make_qkx: nmax's zero, scale and min 0)", () => {
    const x = new Float32Array(32);
    const L = new Uint8Array(32).fill(9);
    assert.equal(
      makeQkxQuants(32, 15, x, 0, new Float32Array(32).fill(1), L, 0, -1, 0.1, 20, false),
      0,
    );
    assert.equal(searchResult.min, -0);
    assert.deepEqual([...L], new Array(32).fill(0));
  });
});
