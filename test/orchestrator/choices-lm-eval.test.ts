import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { scoreChoiceItem } from "../../src/orchestrator/score-choices.js";
import type { RunnerClient } from "../../src/runner-client/client.js";
import { resolveRunner } from "../../src/runner-client/registry.js";
import { startRunner } from "../../src/runner-client/start.js";
import { choiceMetric, loadSuite } from "../../src/suites/load.js";
import { model, ROOT } from "../support/paths.js";

const FIXTURES = join(ROOT, "test/fixtures/choices");

interface ReferenceDoc {
  id: string;
  requests: Array<{ continuation_enc: number[]; ll: number }>;
  pred: number;
  pred_norm: number;
  pred_byte: number;
  acc: number;
  acc_norm: number;
  acc_bytes: number;
}
type Mean = { acc: number; acc_norm: number; acc_bytes: number };
type Reference = Record<"hellaswag" | "winogrande", ReferenceDoc[]> &
  Record<"hellaswag_mean" | "winogrande_mean", Mean>;

describe("scoring: lm-eval against a line-by-line port of lm-evaluation-harness (stories260K, real runner; fixture by scripts/make-lm-eval-reference.mjs)", () => {
  let runner: RunnerClient;
  const reference = JSON.parse(
    readFileSync(join(FIXTURES, "lm-eval-stories260K-f32.json"), "utf8"),
  ) as Reference;

  before(async () => {
    const load = { backend: "cpu" as const, contextSize: 256, seed: 1, threads: 1 };
    const spec = { ...load, model: model("stories260K-f32.gguf") };
    runner = (await startRunner(resolveRunner("cpu", undefined), spec, 60_000)).client;
  });
  after(() => runner.stop());

  for (const task of ["hellaswag", "winogrande"] as const) {
    it(`${task}: per item the same continuation token ids, log-likelihoods, picks and acc / acc_norm / acc_bytes`, async () => {
      const suite = loadSuite(join(FIXTURES, `${task}.yaml`));
      const options = choiceMetric(suite);
      assert.ok(options);
      const docs = reference[task];
      assert.equal(suite.items.length, docs.length);
      const sums = { acc: 0, acc_norm: 0, acc_bytes: 0 };
      for (const [i, item] of suite.items.entries()) {
        const doc = docs[i] as ReferenceDoc;
        assert.equal(item.id, doc.id);
        assert.ok(item.choices);
        const context = {
          context: item.prompt,
          choices: item.choices.texts,
          gold: item.choices.gold,
        };
        const out = await scoreChoiceItem(runner, { ...context, options }, 60_000);
        assert.deepEqual(
          out.scoredTokens,
          doc.requests.map((r) => r.continuation_enc),
          `${doc.id}: continuation tokens`,
        );
        out.scores.forEach((ll, c) => {
          // Shared-context scoring vs whole-sequence evaluate: the same logits up to batch shape.
          const want = doc.requests[c]?.ll as number;
          assert.ok(Math.abs(ll - want) < 1e-4, `${doc.id} choice ${c}: ${ll} vs ${want}`);
        });
        assert.equal(out.pick, doc.pred, `${doc.id}: pred`);
        assert.equal(out.metrics.acc, doc.acc, `${doc.id}: acc`);
        assert.equal(out.metrics.acc_norm, doc.acc_norm, `${doc.id}: acc_norm`);
        assert.equal(out.metrics.acc_bytes, doc.acc_bytes, `${doc.id}: acc_bytes`);
        for (const k of ["acc", "acc_norm", "acc_bytes"] as const) sums[k] += out.metrics[k] ?? 0;
      }
      const mean = reference[`${task}_mean`];
      for (const k of ["acc", "acc_norm", "acc_bytes"] as const) {
        assert.equal(sums[k] / docs.length, mean[k], `${task} ${k}`);
      }
    });
  }
});
