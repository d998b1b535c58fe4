import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { engineKey, PPL_MODEL, writePplModel } from "../fixtures/quantize/ppl-model.js";
import { qbench, tempDir } from "../support/cli.js";
import { readReference } from "../support/cpu-reference.js";
import { model, ROOT } from "../support/paths.js";

interface Figures {
  ppl: number;
  ppl_err: number;
}
interface PplReference {
  model: typeof PPL_MODEL;
  engine: string;
  results: Array<{
    type: string;
    sha256: string;
    bytes: number;
    llama_perplexity: Figures & { mean_nll: number; chunks: number };
    node_llama_cpp: Figures & { tokens: number };
  }>;
}

/** llama.cpp's figures on this kind of CPU (kquant-ppl-reference.json: AVX-512; .avx2.json, .amx.json beside it). */
const reference = readReference<PplReference>(
  join(ROOT, "test/fixtures/quantize"),
  "kquant-ppl-reference.json",
  "scripts/make-kquant-ppl-reference.mjs",
);
const nodeLlamaCpp = (
  JSON.parse(readFileSync(join(ROOT, "node_modules/node-llama-cpp/package.json"), "utf8")) as {
    version: string;
  }
).version;
/** node-llama-cpp's figure on llama-quantize's file was taken on this engine and CPU: the same bytes must give it exactly. */
const sameEngine = reference.engine === engineKey(nodeLlamaCpp);
/** Elsewhere, the spread between llama.cpp builds that test/cli/ppl.test.ts allows. */
const ACROSS_BUILDS = 1e-3;

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("k-quant mixes from qbench quantize load in node-llama-cpp with llama-quantize's perplexity (kquant-ppl-reference.json)", () => {
  const dir = tempDir("qbench-kquant-ppl-");
  const file = (type: string) => join(dir, `ppl-model-${type}.gguf`);
  const text = join(ROOT, "test/fixtures/ppl/stories.txt");
  const f16 = reference.results.find((r) => r.type === "f16");

  before(async () => {
    assert.deepEqual(reference.model, PPL_MODEL, "the fixture was made for another model");
    await writePplModel(file("f16"), model("stories260K-f32.gguf"));
    assert.equal(sha256(file("f16")), f16?.sha256, "the model the references were made from");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the references tell the mixes apart: llama-perplexity's figures all differ", () => {
    const figures = reference.results.map((r) => r.llama_perplexity.mean_nll);
    assert.equal(new Set(figures).size, figures.length, figures.join(", "));
    assert.equal(new Set(reference.results.map((r) => r.sha256)).size, figures.length);
  });

  for (const ref of reference.results.filter((r) => r.type !== "f16")) {
    it(`${ref.type}: llama-quantize's file byte for byte, and its perplexity through the llama-cpp runner`, async () => {
      const quantized = await qbench([
        "quantize",
        file("f16"),
        "--type",
        ref.type,
        "--out",
        file(ref.type),
      ]);
      assert.equal(quantized.exitCode, 0, quantized.stderr);
      assert.equal(sha256(file(ref.type)), ref.sha256, `${ref.type}: llama-quantize's sha256`);

      const out = await qbench([
        "ppl",
        file(ref.type),
        text,
        "--ctx",
        "128",
        "--backend",
        "cpu",
        "--threads",
        "1",
      ]);
      assert.equal(out.exitCode, 0, out.stderr);
      const got = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "") as {
        ppl: number;
        ppl_error: number;
        tokens: number;
        chunks: number;
      };
      const want = ref.llama_perplexity;
      console.log(
        `${ref.type}: qbench's file ${ref.sha256.slice(0, 12)}…, ppl ${got.ppl} ± ${got.ppl_error}; llama-perplexity on llama-quantize's ${want.ppl} ± ${want.ppl_err}`,
      );
      assert.equal(got.tokens, ref.node_llama_cpp.tokens);
      assert.equal(got.chunks, want.chunks);
      if (sameEngine) {
        assert.equal(got.ppl, ref.node_llama_cpp.ppl, "node-llama-cpp on llama-quantize's file");
        assert.equal(got.ppl_error, ref.node_llama_cpp.ppl_err);
        // llama-perplexity prints 4 decimals: the same figure to every digit it prints, give or
        // take its own sum's order (1e-8 relative) where the figure lies on a rounding boundary:
        // on an AMX CPU q5_k_m is 536.8963491824792 here and printed 536.8964 there (its mean NLL
        // 6.285805 to 6 decimals; qbench's 6.28580506). (The ± is qbench ppl's own estimate; its
        // agreement with llama-perplexity's is ppl.test.ts's.)
        assert.ok(
          Math.abs(got.ppl - want.ppl) <= 5e-5 + 1e-8 * want.ppl,
          `${got.ppl} vs llama-perplexity ${want.ppl}`,
        );
      } else {
        const relative = Math.abs(got.ppl - want.ppl) / want.ppl;
        assert.ok(relative < ACROSS_BUILDS, `${got.ppl} vs llama-perplexity ${want.ppl}`);
      }
    });
  }
});
