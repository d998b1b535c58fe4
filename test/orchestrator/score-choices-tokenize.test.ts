import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ChoiceOutcome, scoreChoiceItem } from "../../src/orchestrator/score-choices.js";
import type { RunnerClient } from "../../src/runner-client/client.js";
import { resolveRunner } from "../../src/runner-client/registry.js";
import { startRunner } from "../../src/runner-client/start.js";
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
  let capabilities: readonly string[];

  before(async () => {
    const load = { backend: "cpu" as const, contextSize: 256, seed: 1, threads: 1 };
    const spec = { ...load, model: model("stories260K-f32.gguf") };
    const started = await startRunner(resolveRunner("cpu", undefined), spec, 60_000);
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
        const { evalMs: _a, ...a } = one as ChoiceOutcome;
        const { evalMs: _b, ...b } = other as ChoiceOutcome;
        assert.deepEqual(a, b, item.id);
      }
    });
  }
});
