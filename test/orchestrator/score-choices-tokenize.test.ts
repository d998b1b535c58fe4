import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type ChoiceItem,
  type ChoiceOutcome,
  scoreChoiceItem,
} from "../../src/orchestrator/score-choices.js";
import { TokenizeAhead } from "../../src/orchestrator/tokenize-ahead.js";
import type { RunnerClient } from "../../src/runner-client/client.js";
import { resolveRunner } from "../../src/runner-client/registry.js";
import { type StartedRunner, startRunner } from "../../src/runner-client/start.js";
import { choiceMetric, loadSuite } from "../../src/suites/load.js";
import { model, ROOT } from "../support/paths.js";

const FIXTURES = join(ROOT, "test/fixtures/choices");
const SUITES = [
  "hellaswag.yaml",
  "winogrande.yaml",
  "hellaswag-llama-cpp.yaml",
  "winogrande-llama-cpp.yaml",
];

describe("scoreChoiceItem tokenizes an item in one request (real llama.cpp runner, stories260K)", () => {
  let runner: RunnerClient;
  let started: StartedRunner;
  let capabilities: readonly string[];

  before(async () => {
    const load = { backend: "cpu" as const, contextSize: 256, seed: 1, threads: 1 };
    const spec = { ...load, model: model("stories260K-f32.gguf") };
    started = await startRunner(resolveRunner("cpu", undefined), spec, 60_000);
    runner = started.client;
    capabilities = started.init.capabilities;
  });
  after(() => runner.stop());

  /** The runner with every request counted by method. */
  function counting(counts: Record<string, number>): RunnerClient {
    const request: RunnerClient["request"] = (method, params, timeoutMs) => {
      counts[method] = (counts[method] ?? 0) + 1;
      return runner.request(method, params, timeoutMs);
    };
    return { request } as RunnerClient;
  }

  for (const file of SUITES) {
    it(`${file}: one tokenizeBatch and one scoreChoices per item, the same outcome as one tokenize per text`, async () => {
      assert.ok(capabilities.includes("tokenize-batch"));
      const suite = loadSuite(join(FIXTURES, file));
      const options = choiceMetric(suite);
      assert.ok(options);
      const items = suite.items.slice(0, 8);
      for (const item of items) {
        assert.ok(item.choices);
        const choiceItem = {
          context: item.prompt,
          choices: item.choices.texts,
          gold: item.choices.gold,
          options,
        };
        const batched: Record<string, number> = {};
        const one = await scoreChoiceItem(counting(batched), choiceItem, 60_000, capabilities);
        assert.deepEqual(batched, { tokenizeBatch: 1, scoreChoices: 1 }, item.id);
        const single: Record<string, number> = {};
        const other = await scoreChoiceItem(counting(single), choiceItem, 60_000);
        assert.equal(single.tokenizeBatch, undefined);
        assert.ok((single.tokenize ?? 0) >= item.choices.texts.length, item.id);
        assert.deepEqual(withoutTime(one), withoutTime(other), item.id);
      }
    });

    it(`${file}: a run's items tokenized 16 to a request ahead of scoring, then one scoreChoices each, the same outcomes`, async () => {
      const suite = loadSuite(join(FIXTURES, file));
      const options = choiceMetric(suite);
      assert.ok(options);
      const items: ChoiceItem[] = suite.items.map((item) => {
        assert.ok(item.choices);
        return {
          context: item.prompt,
          choices: item.choices.texts,
          gold: item.choices.gold,
          options,
        };
      });
      assert.ok(items.length > 16, `${file} has more items than one request's block`);
      const counts: Record<string, number> = {};
      const client = counting(counts);
      const ahead = new TokenizeAhead(items, 16);
      const runners = { runner: async () => ({ ...started, client }), failed: () => {} };
      for (const [at, item] of items.entries()) {
        const known = await ahead.known(at, runners, 60_000);
        const outcome = await scoreChoiceItem(client, item, 60_000, capabilities, undefined, known);
        const alone = await scoreChoiceItem(runner, item, 60_000, capabilities);
        assert.deepEqual(withoutTime(outcome), withoutTime(alone), `item ${at}`);
      }
      const blocks = Math.ceil(items.length / 16);
      assert.deepEqual(counts, { tokenizeBatch: blocks, scoreChoices: items.length });
    });
  }
});

function withoutTime(outcome: ChoiceOutcome): Omit<ChoiceOutcome, "evalMs"> {
  const { evalMs: _, ...rest } = outcome;
  return rest;
}
