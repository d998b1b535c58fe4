import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Verdict } from "../../src/verdict/policy.js";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { readReference } from "../support/cpu-reference.js";
import { ROOT } from "../support/paths.js";
import { writePlan } from "../support/plans.js";

/** llama-perplexity --kl-divergence on this kind of CPU (kld-reference.json, or kld-reference.<kind>.json). */
const reference = readReference<{
  results: Array<{ model: string; ctx: number; kld: { mean: number } }>;
}>(join(ROOT, "test/fixtures/ppl"), "kld-reference.json", "test/fixtures/ppl/make-reference.sh");

function kldReason(stdout: string, variant: string) {
  const { verdicts } = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as {
    verdicts: Verdict[];
  };
  return verdicts
    .find((v) => v.variant === variant)
    ?.reasons.find((r) => r.gate === "kld" && r.metric === "mean_kld");
}

describe("qbench run's KLD: kldMethod exact (lockstep) and the default top-K bound (stories260K)", () => {
  const dir = tempDir();
  writeFiles(dir, {
    "ppl.yaml": `id: ppl\nmetrics:\n  - perplexity: { file: ${join(ROOT, "test/fixtures/ppl/stories.txt")}, ctx: 128 }\n`,
  });
  const variants = [{ name: "fp16" }, { name: "int4", file: "stories260K-q4_0.gguf" }];
  const want = reference.results.find((r) => r.model === "stories260K-q4_0.gguf" && r.ctx === 128);

  for (const method of ["exact", "top-k"]) {
    it(`kldMethod ${method}: the gate's mean KLD is llama-perplexity's within 1 %`, async () => {
      const plan = writePlan(join(dir), variants, [join(dir, "ppl.yaml")], `kldMethod: ${method}`);
      const db = join(dir, `${method}.db`);
      const out = await qbench(["run", plan, "--db", db, "--json", "--quiet"], {
        timeout: 300_000,
      });
      assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);
      const reason = kldReason(out.stdout, "int4");
      assert.ok(reason && want, out.stdout);
      const error = Math.abs((reason.value as number) - want.kld.mean) / want.kld.mean;
      assert.ok(error < 0.01, `${reason.value} vs llama.cpp's ${want.kld.mean}`);
      if (method === "exact") assert.doesNotMatch(reason.message, /bound/);
      // A 512-token vocabulary: the top-512 keeps (nearly) everything, so the bound is tight.
      else
        assert.match(
          reason.message,
          /a lower bound: the baseline's top-K covers (99\.9\d|100\.00) % of its mass/,
        );
    });
  }
});
