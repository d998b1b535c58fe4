import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench } from "../support/cli.js";
import { readReference } from "../support/cpu-reference.js";
import { kldFigureKeys } from "../support/kld-figures.js";
import { model, ROOT } from "../support/paths.js";

interface KldReference {
  results: Array<{
    model: string;
    base: string;
    ctx: number;
    scored_tokens: number;
    ppl_ratio: number;
    kld: Record<string, number> & { mean: number; p99: number };
    same_top_p_percent: number;
  }>;
}

const FIXTURES = join(ROOT, "test/fixtures/ppl");
/** llama-perplexity --kl-divergence on this kind of CPU (kld-reference.json, or kld-reference.<kind>.json). */
const reference = readReference<KldReference>(
  FIXTURES,
  "kld-reference.json",
  "test/fixtures/ppl/make-reference.sh",
);

describe("qbench ppl --baseline against llama-perplexity --kl-divergence (test/fixtures/ppl)", () => {
  for (const name of ["stories260K-q8_0.gguf", "stories260K-q4_0.gguf"]) {
    it(`${name} vs F16 at ctx 128: KLD within 1 %, same-top within 0.2 points`, async () => {
      const ref = reference.results.find(
        (r) => r.model === name && r.base === "stories260K-f16.gguf",
      );
      assert.ok(ref, `no reference for ${name}`);
      const out = await qbench([
        "ppl",
        model(name),
        join(FIXTURES, "stories.txt"),
        "--ctx",
        "128",
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--baseline",
        model("stories260K-f16.gguf"),
      ]);
      assert.equal(out.exitCode, 0, out.stderr);
      const got = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "") as Record<string, number>;
      for (const key of [
        "ppl",
        "baseline_ppl",
        "ppl_ratio",
        "mean_kld",
        "p99_kld",
        "same_top_pct",
      ]) {
        assert.equal(typeof got[key], "number", key);
      }
      const kldError = Math.abs((got.mean_kld ?? 0) - ref.kld.mean) / ref.kld.mean;
      const topError = Math.abs((got.same_top_pct ?? 0) - ref.same_top_p_percent);
      assert.ok(kldError < 0.01, `mean KLD ${got.mean_kld} vs ${ref.kld.mean}`);
      assert.ok(topError < 0.2, `same top ${got.same_top_pct} vs ${ref.same_top_p_percent}`);
      assert.ok(
        Math.abs((got.ppl_ratio ?? 0) - ref.ppl_ratio) < 1e-3,
        `ratio ${got.ppl_ratio} vs ${ref.ppl_ratio}`,
      );
      console.log(
        `kld ${name}: mean ${got.mean_kld?.toFixed(6)} vs llama.cpp ${ref.kld.mean} (${(kldError * 100).toFixed(2)} %), ` +
          `same-top ${got.same_top_pct?.toFixed(3)} vs ${ref.same_top_p_percent} (${topError.toFixed(3)} points), ` +
          `p99 ${got.p99_kld?.toFixed(6)} vs ${ref.kld.p99}`,
      );
    });
  }

  // llama.cpp's own floor: the base against itself spreads by its 16-bit storage of the base.
  const self = reference.results.find((r) => r.model === "stories260K-f16.gguf" && r.ctx === 128);
  const floor = Math.max(Math.abs(self?.kld.max ?? 0), Math.abs(self?.kld.min ?? 0));

  for (const name of ["stories260K-q8_0.gguf", "stories260K-q4_0.gguf"]) {
    it(`${name} vs F16, --kld exact: every percentile within 1 % (or llama.cpp's storage floor)`, async () => {
      const ref = reference.results.find(
        (r) => r.model === name && r.base === "stories260K-f16.gguf" && r.ctx === 128,
      );
      assert.ok(ref, `no reference for ${name}`);
      assert.ok(floor > 0 && floor < 1e-4, `floor ${floor}`);
      const out = await qbench(
        ["ppl", model(name), join(FIXTURES, "stories.txt"), "--ctx", "128"].concat(
          ["--backend", "cpu", "--threads", "1", "--baseline", model("stories260K-f16.gguf")],
          ["--kld", "exact"],
        ),
      );
      assert.equal(out.exitCode, 0, out.stderr);
      const got = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "") as Record<string, number>;
      assert.equal(got.kld_is_bound as unknown, false);
      // Every chunk, as llama-perplexity scores them (lockstep once went only through the
      // first chunk of each evaluateBatch group).
      assert.equal(got.scored_tokens, ref.scored_tokens);
      for (const [label, key] of kldFigureKeys()) {
        const want = ref.kld[label] as number;
        // The maximum is one token's value: on Q8_0 it is 2.7 % above llama.cpp's native build
        // with node-llama-cpp's prebuilt binary (the top-K path gives the same), so 3 % there.
        const relative = label === "max" ? 0.03 : 0.01;
        const tolerance = Math.max(relative * Math.abs(want), floor);
        const diff = Math.abs((got[key] as number) - want);
        assert.ok(diff <= tolerance, `${key} ${got[key]} vs llama.cpp's ${want} (±${tolerance})`);
      }
      const top = Math.abs((got.same_top_pct as number) - ref.same_top_p_percent);
      assert.ok(top <= 0.2, `same top ${got.same_top_pct} vs ${ref.same_top_p_percent}`);
    });
  }
});
