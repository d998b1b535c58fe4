import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { readReference } from "../support/cpu-reference.js";
import { model, ROOT } from "../support/paths.js";

interface Reference {
  llama_cpp: string;
  results: Array<{
    model: string;
    ctx: number;
    ppl: number;
    ppl_err: number;
    scored_tokens: number;
    mean_nll: number;
    chunks: number;
    tokens: number;
  }>;
}

const FIXTURES = join(ROOT, "test/fixtures/ppl");
/** llama-perplexity's figures on this kind of CPU (reference.json, or reference.<kind>.json). */
const reference = readReference<Reference>(
  FIXTURES,
  "reference.json",
  "test/fixtures/ppl/make-reference.sh",
);

describe("qbench ppl against llama-perplexity (references in test/fixtures/ppl)", () => {
  it("matches llama-perplexity within 0.1 % on stories260K F32/F16/Q8_0/Q4_0 at ctx 64 and 128", async () => {
    let worst = 0;
    const rows: string[] = [];
    for (const ref of reference.results) {
      const out = await qbench([
        "ppl",
        model(ref.model),
        join(FIXTURES, "stories.txt"),
        "--ctx",
        String(ref.ctx),
        "--backend",
        "cpu",
        "--threads",
        "1",
      ]);
      assert.equal(out.exitCode, 0, out.stderr);
      assert.match(out.stderr, /\[1\/\d+\] ppl/);
      const result = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "") as {
        ppl: number;
        ppl_error: number;
        chunks: number;
        ctx: number;
        tokens: number;
        scored_tokens: number;
      };
      assert.equal(result.chunks, ref.chunks, `${ref.model} ctx ${ref.ctx}: chunks`);
      assert.equal(result.ctx, ref.ctx);
      assert.equal(result.tokens, ref.tokens, "the same tokenization as llama-perplexity");
      assert.equal(result.scored_tokens, ref.scored_tokens);
      // exp(mean NLL) from --ppl-output-type 1 has 6 decimals; the printed PPL only 4.
      const refPpl = Math.exp(ref.mean_nll);
      const relative = Math.abs(result.ppl - refPpl) / refPpl;
      worst = Math.max(worst, relative);
      rows.push(
        `${ref.model}@${ref.ctx}: ${result.ppl.toFixed(6)} vs ${refPpl.toFixed(6)} (${(relative * 100).toFixed(4)} %)`,
      );
      assert.ok(relative < 1e-3, `${ref.model} ctx ${ref.ctx}: ${result.ppl} vs ${refPpl}`);
      assert.ok(Math.abs(result.ppl_error - ref.ppl_err) / ref.ppl_err < 5e-3, "± estimate");
    }
    console.log(
      `ppl vs llama-perplexity (${reference.llama_cpp.split(" ")[1]}): worst relative error ${(worst * 100).toFixed(4)} %`,
    );
    console.log(rows.join("\n"));
  });

  it("exits 2 naming the file when the text is shorter than one chunk", async () => {
    const dir = tempDir();
    writeFiles(dir, { "short.txt": "Once upon a time." });
    const out = await qbench([
      "ppl",
      model("stories260K-q8_0.gguf"),
      join(dir, "short.txt"),
      "--ctx",
      "64",
    ]);
    assert.equal(out.exitCode, 2);
    assert.match(out.stderr, /short\.txt: the text has \d+ tokens; --ctx 64 needs at least 64/);
  });

  it("exits 2 naming the file for a missing text or a non-GGUF model", async () => {
    const missing = await qbench(["ppl", model("stories260K-q8_0.gguf"), "/nonexistent.txt"]);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /\/nonexistent\.txt: file not found/);
    const dir = tempDir();
    writeFiles(dir, { "m.gguf": "not a model at all", "t.txt": "text" });
    const bad = await qbench(["ppl", join(dir, "m.gguf"), join(dir, "t.txt")]);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /m\.gguf: /);
  });
});
