import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { scoreChoiceItem } from "../../src/orchestrator/score-choices.js";
import { scoreLoglikelihood, scoreRolling } from "../../src/orchestrator/score-loglikelihood.js";
import type { RunnerClient } from "../../src/runner-client/client.js";
import { resolveRunner } from "../../src/runner-client/registry.js";
import { startRunner } from "../../src/runner-client/start.js";
import { rollingFigures } from "../../src/scoring/loglikelihood.js";
import { choiceMetric, loadSuite } from "../../src/suites/load.js";
import { model, ROOT } from "../support/paths.js";

const FIXTURES = join(ROOT, "test/fixtures/choices");

interface ReferenceDoc {
  id: string;
  requests: Array<{ context_enc: number[]; continuation_enc: number[]; ll: number }>;
  unconditional: Array<{ context_enc: number[]; continuation_enc: number[]; ll: number }>;
  pred: number;
  pred_norm: number;
  pred_byte: number;
  acc: number;
  acc_norm: number;
  acc_bytes: number;
  pred_mutual_info: number;
  acc_mutual_info: number;
}
type Mean = { acc: number; acc_norm: number; acc_bytes: number; acc_mutual_info: number };
type Reference = Record<"hellaswag" | "winogrande", ReferenceDoc[]> &
  Record<"hellaswag_mean" | "winogrande_mean", Mean> & {
    hellaswag_truncated: {
      max_length: number;
      docs: Array<{ id: string; lls: number[]; pred: number; acc: number; truncated: boolean }>;
    };
    loglikelihood: Array<{
      id: string;
      continuation_enc: number[];
      perplexity: number;
      acc: number;
    }>;
    loglikelihood_mean: { perplexity: number; acc: number };
    rolling: Array<{
      id: string;
      loglikelihood: number;
      words: number;
      bytes: number;
      windows: Array<[number, number]>;
    }>;
    rolling_mean: Record<
      "word_perplexity" | "byte_perplexity" | "bits_per_byte" | "max_length",
      number
    >;
  };

/** scripts/lm-eval-port.mjs: the port, plain JavaScript independent of qbench's scoring code. */
interface Port {
  lmEvalReference(client: RunnerClient, root: string): Promise<{ result: Reference }>;
}

describe("scoring: lm-eval against a line-by-line port of lm-evaluation-harness (stories260K, real runner; the port scripts/lm-eval-port.mjs run live, its record by scripts/make-lm-eval-reference.mjs)", () => {
  let runner: RunnerClient;
  let capabilities: readonly string[];
  // The port's figures, computed in this run on this machine's runner binary: the engine's
  // log-probs depend on the CPU its prebuilt binary runs on (up to 8e-3 between an AVX-512 and
  // an AVX2 machine), so a stored figure would hold on one kind of CPU only.
  let reference: Reference;
  // The committed record (made on some machine): its token ids hold on every machine.
  const recorded = JSON.parse(
    readFileSync(join(FIXTURES, "lm-eval-stories260K-f32.json"), "utf8"),
  ) as Reference;

  before(async () => {
    // Loaded as scripts/make-lm-eval-reference.mjs loads it.
    const load = { backend: "cpu" as const, contextSize: 256, seed: 1, threads: 1 };
    const spec = { ...load, model: model("stories260K-f32.gguf") };
    const started = await startRunner(resolveRunner("cpu", undefined), spec, 60_000);
    runner = started.client;
    capabilities = started.init.capabilities;
    const url = pathToFileURL(join(ROOT, "scripts/lm-eval-port.mjs")).href;
    const port = (await import(url)) as Port;
    reference = (await port.lmEvalReference(runner, ROOT)).result;
  });
  after(() => runner.stop());

  it("the live port tokenizes as the committed record: every request's context and continuation token ids, every rolling window's sizes", () => {
    for (const task of ["hellaswag", "winogrande"] as const) {
      const encs = (r: Reference) =>
        r[task].map((d) => ({
          id: d.id,
          requests: d.requests.map((q) => [q.context_enc, q.continuation_enc]),
          unconditional: d.unconditional.map((q) => [q.context_enc, q.continuation_enc]),
        }));
      assert.deepEqual(encs(reference), encs(recorded), task);
    }
    const ll = (r: Reference) => r.loglikelihood.map((d) => [d.id, d.continuation_enc]);
    assert.deepEqual(ll(reference), ll(recorded));
    const rolling = (r: Reference) => r.rolling.map((d) => [d.id, d.windows, d.words, d.bytes]);
    assert.deepEqual(rolling(reference), rolling(recorded));
    assert.equal(reference.hellaswag_truncated.max_length, recorded.hellaswag_truncated.max_length);
    const cut = (r: Reference) => r.hellaswag_truncated.docs.map((d) => d.truncated);
    assert.deepEqual(cut(reference), cut(recorded));
  });

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
        const out = await scoreChoiceItem(runner, { ...context, options }, 60_000, capabilities);
        assert.deepEqual(
          out.scoredTokens,
          doc.requests.map((r) => r.continuation_enc),
          `${doc.id}: continuation tokens`,
        );
        assert.deepEqual(
          out.scoredTokens,
          recorded[task][i]?.requests.map((r) => r.continuation_enc),
          `${doc.id}: continuation tokens as recorded`,
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

  for (const task of ["hellaswag", "winogrande"] as const) {
    it(`${task}: acc_mutual_info per item and its mean equal the port's (unconditional requests after BOS alone)`, async () => {
      const suite = loadSuite(join(FIXTURES, `${task}.yaml`));
      const plain = choiceMetric(suite);
      assert.ok(plain);
      const options = { ...plain, mutual_info: true };
      const docs = reference[task];
      let sum = 0;
      let differs = 0;
      for (const [i, item] of suite.items.entries()) {
        const doc = docs[i] as ReferenceDoc;
        assert.ok(item.choices);
        const context = {
          context: item.prompt,
          choices: item.choices.texts,
          gold: item.choices.gold,
        };
        const out = await scoreChoiceItem(runner, { ...context, options }, 60_000, capabilities);
        assert.equal(
          out.metrics.acc_mutual_info,
          doc.acc_mutual_info,
          `${doc.id}: acc_mutual_info`,
        );
        assert.equal(out.metrics.acc, doc.acc, `${doc.id}: acc unchanged beside it`);
        sum += out.metrics.acc_mutual_info ?? 0;
        if (doc.acc_mutual_info !== doc.acc) differs++;
      }
      assert.equal(sum / docs.length, reference[`${task}_mean`].acc_mutual_info);
      // The figure is not acc under another name: on these items it picks differently.
      assert.ok(differs > 0, `${task}: acc_mutual_info equals acc on every item`);
    });
  }

  it("an over-long context is cut from the left as lm-eval's _loglikelihood_tokens cuts it: per choice the port's log-likelihoods at max_length 32", async () => {
    const suite = loadSuite(join(FIXTURES, "hellaswag.yaml"));
    const options = choiceMetric(suite);
    assert.ok(options);
    const { max_length: maxLength, docs } = reference.hellaswag_truncated;
    let truncated = 0;
    for (const [i, item] of suite.items.entries()) {
      const doc = docs[i];
      assert.ok(doc && item.choices);
      const context = {
        context: item.prompt,
        choices: item.choices.texts,
        gold: item.choices.gold,
      };
      const out = await scoreChoiceItem(
        runner,
        { ...context, options },
        60_000,
        capabilities,
        maxLength,
      );
      assert.equal(out.truncated, doc.truncated, `${doc.id}: truncated`);
      out.scores.forEach((ll, c) => {
        const want = doc.lls[c] as number;
        assert.ok(Math.abs(ll - want) < 1e-4, `${doc.id} choice ${c}: ${ll} vs ${want}`);
      });
      assert.equal(out.pick, doc.pred, `${doc.id}: pred`);
      assert.equal(out.metrics.acc, doc.acc, `${doc.id}: acc`);
      if (out.truncated) truncated++;
    }
    assert.ok(truncated > 0 && truncated < docs.length, `${truncated} of ${docs.length} cut`);
    // A continuation longer than the context can hold fails the item, naming the sizes.
    const item = suite.items[0];
    assert.ok(item?.choices);
    const tiny = {
      context: item.prompt,
      choices: item.choices.texts,
      gold: item.choices.gold,
      options,
    };
    await assert.rejects(
      scoreChoiceItem(runner, tiny, 60_000, capabilities, 2),
      (error: Error & { runnerCode?: string }) =>
        /continuation's \d+ tokens exceed the 2 the context holds/.test(error.message) &&
        error.runnerCode === "CONTEXT_OVERFLOW",
    );
  });

  it("loglikelihood (LAMBADA form): per item the target's log-likelihood and greedy match; perplexity = exp(−mean)", async () => {
    const suite = loadSuite(join(FIXTURES, "lambada.yaml"));
    const docs = reference.loglikelihood;
    assert.equal(suite.items.length, docs.length);
    let sum = 0;
    let acc = 0;
    for (const [i, item] of suite.items.entries()) {
      const doc = docs[i];
      assert.ok(doc);
      const spec = { context: item.prompt, continuation: item.reference ?? "", bos: 1 };
      const out = await scoreLoglikelihood(runner, spec, 60_000);
      const ll = out.metrics.loglikelihood as number;
      assert.ok(Math.abs(ll - doc.perplexity) < 1e-4, `${doc.id}: ${ll} vs ${doc.perplexity}`);
      assert.equal(out.metrics.acc, doc.acc, `${doc.id}: greedy`);
      sum += ll;
      acc += out.metrics.acc ?? 0;
    }
    const mean = reference.loglikelihood_mean;
    const perplexity = Math.exp(-sum / docs.length);
    assert.ok(
      Math.abs(perplexity / mean.perplexity - 1) < 1e-5,
      `${perplexity} vs ${mean.perplexity}`,
    );
    assert.equal(acc / docs.length, mean.acc);
  });

  it("loglikelihood_rolling: per document the windows' summed log-likelihood, words and bytes; word/byte perplexity, bits per byte", async () => {
    const suite = loadSuite(join(FIXTURES, "rolling.yaml"));
    const docs = reference.rolling;
    const maxLength = reference.rolling_mean.max_length;
    const totals = { ll: 0, words: 0, bytes: 0 };
    for (const [i, item] of suite.items.entries()) {
      const doc = docs[i];
      assert.ok(doc);
      const out = await scoreRolling(
        runner,
        { text: item.text ?? "", prefix: 1, maxLength },
        60_000,
      );
      const ll = out.metrics.loglikelihood as number;
      // Each window one whole-sequence evaluate, as the port's (and lm-eval's) one forward pass:
      // the same figure exactly. Through scoreChoices (context decode, then continuation decode)
      // it had moved single log-probs by up to 9.4e-3 and doc-1's sum by 0.028 (8.8e-5 relative).
      assert.equal(ll, doc.loglikelihood, `${doc.id}: ${ll} vs ${doc.loglikelihood}`);
      assert.equal(out.metrics.ll_words, doc.words);
      assert.equal(out.metrics.ll_bytes, doc.bytes);
      totals.ll += ll;
      totals.words += doc.words;
      totals.bytes += doc.bytes;
    }
    const figures = rollingFigures(totals.ll, totals.words, totals.bytes);
    for (const k of ["word_perplexity", "byte_perplexity", "bits_per_byte"] as const) {
      const want = reference.rolling_mean[k];
      assert.ok(Math.abs(figures[k] / want - 1) < 1e-5, `${k}: ${figures[k]} vs ${want}`);
    }
  });
});
