/**
 * The WebGPU runner's scoreChoices against the llama.cpp runner's (CPU), item by item through the
 * orchestrator's own scoring path, on the multiple-choice fixtures and the bundled demo suite.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ChoiceOutcome, scoreChoiceItem } from "../../../src/orchestrator/score-choices.js";
import type { RunnerClient } from "../../../src/runner-client/client.js";
import type {
  LoadParams,
  ScoreChoicesParams,
  ScoreChoicesResult,
} from "../../../src/runner-client/protocol.js";
import type { StartedRunner } from "../../../src/runner-client/start.js";
import { choiceMetric, loadSuite } from "../../../src/suites/load.js";
import { model, ROOT } from "../../support/paths.js";
import { startPair } from "./compare.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const FIXTURES = join(ROOT, "test/fixtures/choices");
/**
 * Items per suite: the first 8 keep the file short on a software adapter (each choice is also
 * evaluated whole on both runners);
 * QBENCH_CHOICES_ITEMS=all scores every item (the figures docs/webgpu.md gives).
 */
const ITEMS =
  process.env.QBENCH_CHOICES_ITEMS === "all"
    ? Number.POSITIVE_INFINITY
    : Number(process.env.QBENCH_CHOICES_ITEMS ?? 8);

/**
 * scoreChoices against the same runner's evaluate of context + continuation: the same positions
 * through the same kernels, only in other batches (the context once, then each continuation from
 * its last position). llama.cpp's own runner holds 1e-5 (its choices.test.ts); the WebGPU
 * runner's matmuls take other kernel variants for one row and for many.
 */
const SELF_BOUND = 1e-4;
/**
 * A pick may differ from llama.cpp's only where llama.cpp's two best choices are this close (a
 * near-tie per-token rounding can reorder); any other differing pick fails.
 */
const NEAR_TIE = 2e-3;

const MODELS = [
  ["stories260K-f32", model("stories260K-f32.gguf")],
  ["demo-f16", join(ROOT, "models/demo/demo-f16.gguf")],
] as const;
const SUITES = [
  join(FIXTURES, "hellaswag.yaml"),
  join(FIXTURES, "hellaswag-llama-cpp.yaml"),
  join(FIXTURES, "winogrande.yaml"),
  join(FIXTURES, "winogrande-llama-cpp.yaml"),
  join(ROOT, "suites/demo-choice.yaml"),
];

/** Every scoreChoices request and answer, in order, beside the client. */
function recorded(
  client: RunnerClient,
  log: ScoreChoicesResult[],
  requests: ScoreChoicesParams[],
): RunnerClient {
  const request: RunnerClient["request"] = async (method, params, timeoutMs) => {
    const out = await client.request(method, params, timeoutMs);
    if (method === "scoreChoices") {
      log.push(out as ScoreChoicesResult);
      requests.push(params as ScoreChoicesParams);
    }
    return out;
  };
  return new Proxy(client, {
    get: (target, key, receiver) =>
      key === "request" ? request : Reflect.get(target, key, receiver),
  });
}

interface Scored {
  outcomes: ChoiceOutcome[];
  answers: ScoreChoicesResult[];
  requests: ScoreChoicesParams[];
}

async function scoreSuite(started: StartedRunner, file: string): Promise<Scored> {
  const suite = loadSuite(file);
  const options = choiceMetric(suite);
  assert.ok(options, `${file} has a multiple_choice metric`);
  const answers: ScoreChoicesResult[] = [];
  const requests: ScoreChoicesParams[] = [];
  const runner = recorded(started.client, answers, requests);
  const outcomes: ChoiceOutcome[] = [];
  for (const item of suite.items.slice(0, ITEMS)) {
    assert.ok(item.choices);
    const { texts, gold } = item.choices;
    outcomes.push(
      await scoreChoiceItem(
        runner,
        { context: item.prompt, choices: texts, gold, options },
        60_000,
        started.init.capabilities,
      ),
    );
  }
  return { outcomes, answers, requests };
}

for (const [name, path] of MODELS) {
  describe(`WebGPU scoreChoices vs the llama.cpp runner on ${name} (real processes; this machine's adapter)`, {
    skip,
  }, () => {
    let ref: StartedRunner;
    let gpu: StartedRunner;

    before(async () => {
      const load: LoadParams = {
        model: path,
        backend: "cpu",
        contextSize: 256,
        seed: 1,
        threads: 1,
      };
      ({ ref, gpu } = await startPair(load, 60_000));
    });
    after(() => Promise.all([ref?.client.stop(), gpu?.client.stop()]));

    it("says it can score choices", () => {
      assert.ok(gpu.init.capabilities.includes("choices"));
    });

    for (const file of SUITES) {
      const suiteName = relative(ROOT, file);
      it(`${suiteName}: the same tokens, log-probs as its own evaluate gives them, llama.cpp's greedy flags and picks but near-ties`, async (t) => {
        const base = await scoreSuite(ref, file);
        const ours = await scoreSuite(gpu, file);
        assert.equal(ours.outcomes.length, base.outcomes.length);
        assert.equal(ours.answers.length, base.answers.length);
        assert.deepEqual(ours.requests, base.requests, "the same token ids sent");
        let maxDelta = 0;
        let tokens = 0;
        let greedyDiffer = 0;
        base.answers.forEach((answer, i) => {
          const mine = ours.answers[i] as ScoreChoicesResult;
          assert.equal(mine.choices.length, answer.choices.length);
          answer.choices.forEach((choice, c) => {
            const other = mine.choices[c];
            assert.ok(other);
            assert.equal(other.logprobs.length, choice.logprobs.length);
            choice.logprobs.forEach((lp, k) => {
              maxDelta = Math.max(maxDelta, Math.abs(lp - (other.logprobs[k] as number)));
              tokens++;
            });
            if (other.greedy !== choice.greedy) greedyDiffer++;
          });
        });
        // Each continuation against the WebGPU runner's own whole-sequence evaluate, and that
        // evaluate against llama.cpp's: scoreChoices adds nothing to evaluate's difference.
        let selfDelta = 0;
        let evalDelta = 0;
        for (const [i, answer] of ours.answers.entries()) {
          const { context, continuations } = ours.requests[i] as ScoreChoicesParams;
          for (const [c, continuation] of continuations.entries()) {
            const params = {
              tokens: [...context, ...continuation],
              scoreFrom: context.length,
              topK: 0,
            };
            const own = await gpu.client.request("evaluate", params);
            const cpu = await ref.client.request("evaluate", params);
            own.scored.forEach((s, k) => {
              const lp = answer.choices[c]?.logprobs[k] as number;
              selfDelta = Math.max(selfDelta, Math.abs(lp - s.logprob));
              evalDelta = Math.max(
                evalDelta,
                Math.abs(s.logprob - (cpu.scored[k]?.logprob as number)),
              );
            });
          }
        }
        let samePick = 0;
        let maxScoreDelta = 0;
        const ties: string[] = [];
        base.outcomes.forEach((b, i) => {
          const o = ours.outcomes[i] as ChoiceOutcome;
          assert.deepEqual(o.scoredTokens, b.scoredTokens, `item ${i}: the same tokens scored`);
          b.scores.forEach((s, c) => {
            maxScoreDelta = Math.max(maxScoreDelta, Math.abs(s - (o.scores[c] as number)));
          });
          if (o.pick === b.pick) {
            samePick++;
            return;
          }
          const margin = Math.abs((b.scores[b.pick] as number) - (b.scores[o.pick] as number));
          ties.push(`item ${i} (margin ${margin.toExponential(2)})`);
          assert.ok(margin < NEAR_TIE, `item ${i}: picks ${b.pick} vs ${o.pick}, margin ${margin}`);
        });
        t.diagnostic(
          `${name} ${suiteName}: ${base.outcomes.length} items, ${tokens} tokens; vs llama.cpp max per-token |Δ| ${maxDelta.toExponential(2)} ` +
            `(evaluate vs evaluate ${evalDelta.toExponential(2)}), vs own evaluate ${selfDelta.toExponential(2)}, ` +
            `max per-choice score |Δ| ${maxScoreDelta.toExponential(2)}, greedy flags differ ${greedyDiffer}, ` +
            `picks ${samePick}/${base.outcomes.length} identical${ties.length ? `; near-ties ${ties.join(", ")}` : ""}`,
        );
        assert.ok(selfDelta <= SELF_BOUND, `vs its own evaluate: max per-token |Δ| ${selfDelta}`);
        assert.ok(
          maxDelta <= evalDelta + SELF_BOUND,
          `vs llama.cpp ${maxDelta}, evaluate ${evalDelta}`,
        );
        assert.equal(greedyDiffer, 0, "greedy flags");
      });
    }
  });
}
