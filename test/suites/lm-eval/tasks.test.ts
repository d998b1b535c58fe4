import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DatasetEnv } from "../../../src/datasets/load.js";
import { choiceMetric, type LoadedSuite, loadSuite } from "../../../src/suites/load.js";
import { gatedMetricNames } from "../../../src/suites/metric-names.js";
import type { MultipleChoiceOptions } from "../../../src/suites/schema.js";
import { type HubServer, startHubServer } from "../../support/hub-server.js";
import { ROOT } from "../../support/paths.js";

const TASKS = join(ROOT, "test/fixtures/lm-eval/tasks");
const HUB = join(ROOT, "test/fixtures/lm-eval/hub");

describe("real lm-eval task files read as suites, their Hub datasets served by a loopback stand-in (the Hub itself cannot be reached here)", () => {
  let hub: HubServer;
  let env: DatasetEnv;
  before(async () => {
    hub = await startHubServer(HUB);
    env = {
      cacheDir: mkdtempSync(join(tmpdir(), "qbench-datasets-")),
      endpoint: hub.url,
      token: undefined,
      offline: false,
    };
  });
  after(() => hub.close());
  const load = (file: string, seed = 42): LoadedSuite =>
    loadSuite(join(TASKS, file), undefined, { seed, datasets: env });

  it("arc_easy: doc_to_text, a list printed by {{choices.text}} and literal_eval'd, the gold by .index()", () => {
    const suite = load("arc/arc_easy.yaml");
    assert.equal(suite.id, "arc_easy");
    assert.equal(suite.items.length, 6);
    const first = suite.items[0];
    assert.equal(first?.prompt, "Question: Which animal can fly?\nAnswer:");
    assert.deepEqual(first?.choices, { texts: ["a cat", "a bird", "a fish", "a dog"], gold: 1 });
    assert.match(first?.location ?? "", /ARC-Easy\/test-00000-of-00001\.parquet row 1$/);
    assert.deepEqual(suite.metrics, [
      {
        multiple_choice: {
          choices: "{{choices.text}}",
          gold: "{{choices.label.index(answerKey)}}",
          target_delimiter: " ",
          scoring: "lm-eval",
          mutual_info: false,
        },
      },
    ]);
    assert.match(suite.description, /should_decontaminate is ignored/);
  });

  it("arc_challenge: include: merges arc_easy.yaml under its own keys, and its config's folder is read", () => {
    const suite = load("arc/arc_challenge.yaml");
    assert.equal(suite.id, "arc_challenge");
    assert.equal(suite.items.length, 3);
    assert.equal(suite.items[0]?.prompt, "Question: What do cows drink?\nAnswer:");
    assert.match(suite.items[0]?.location ?? "", /ARC-Challenge\//);
  });

  it("piqa, openbookqa, boolq, mmlu: {{[sol1, sol2]}}, a column as target, .lstrip(), a list doc_to_choice, the description", () => {
    const piqa = load("piqa/piqa.yaml");
    assert.equal(piqa.items[2]?.prompt, "Question: Open a locked door\nAnswer:");
    assert.deepEqual(piqa.items[2]?.choices, {
      texts: ["Use a spoon of sugar.", "Use the key."],
      gold: 1,
    });
    const obqa = load("openbookqa/openbookqa.yaml");
    assert.equal(obqa.items[0]?.prompt, "The moon is seen at");
    assert.equal(obqa.items[0]?.choices?.gold, 0, "answerKey ' A' lstripped");
    const boolq = load("super_glue/boolq/default.yaml");
    assert.equal(
      boolq.items[0]?.prompt,
      "The sun is a hot star.\nQuestion: is the sun hot?\nAnswer:",
    );
    assert.deepEqual(boolq.items[0]?.choices, { texts: ["no", "yes"], gold: 1 });
    const mmlu = load("mmlu/default/mmlu_abstract_algebra.yaml");
    assert.equal(
      mmlu.items[0]?.prompt,
      "The following are multiple choice questions (with answers) about abstract algebra.\n\nWhat is 6 + 6?\nA. 11\nB. 12\nC. 13\nD. 14\nAnswer:",
    );
    assert.deepEqual(mmlu.items[0]?.choices, { texts: ["A", "B", "C", "D"], gold: 1 });
  });

  it("lambada_openai: a script dataset read from the Hub's Parquet conversion (refs/convert/parquet), split/join templates", () => {
    const suite = load("lambada/lambada_openai.yaml");
    assert.deepEqual(suite.metrics, [{ loglikelihood: { target: "{{' '+text.split(' ')[-1]}}" } }]);
    assert.equal(suite.items[1]?.prompt, "The dog ran to the park and found a big red");
    assert.equal(suite.items[1]?.reference, " ball");
    assert.match(
      suite.items[1]?.location ?? "",
      /refs--convert--parquet\/default\/test\/0000\.parquet row 2$/,
    );
  });

  it("fetches through the listing (paged) and resolve (redirected) once, then reads the cache with the Hub gone", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "qbench-datasets-"));
    const own = await startHubServer(HUB);
    const first = loadSuite(join(TASKS, "mmlu/default/mmlu_abstract_algebra.yaml"), undefined, {
      datasets: { ...env, cacheDir, endpoint: own.url },
    });
    await new Promise((done) => setTimeout(done, 100));
    const requests = [...own.requests];
    assert.ok(
      requests.some((r) => r === "/api/datasets/cais/mmlu/tree/main"),
      requests.join("\n"),
    );
    assert.ok(
      requests.filter((r) => r.startsWith("/api/")).length >= 2,
      "the listing is paged (2 per page)",
    );
    assert.ok(
      requests.some(
        (r) => r === "/cdn/cais/mmlu/main/abstract_algebra/test-00000-of-00001.parquet",
      ),
    );
    assert.ok(!requests.some((r) => r.includes("/all/")), "only the config's split is downloaded");
    await own.close();
    const again = loadSuite(join(TASKS, "mmlu/default/mmlu_abstract_algebra.yaml"), undefined, {
      datasets: { ...env, cacheDir, endpoint: own.url },
    });
    assert.deepEqual(again.items, first.items);
    assert.equal(again.hash, first.hash);
    assert.throws(
      () =>
        loadSuite(join(TASKS, "piqa/piqa.yaml"), undefined, {
          datasets: { ...env, cacheDir, offline: true },
        }),
      /piqa\.yaml:2: dataset baber\/piqa is not in the cache .*HF_HUB_OFFLINE/,
    );
  });

  it("refuses what it cannot honour, naming file, line and key: Python (!function), two filter pipelines", () => {
    assert.throws(
      () => load("hellaswag/hellaswag.yaml"),
      /hellaswag\.yaml:10: process_docs is Python \(!function utils\.process_docs\)/,
    );
    assert.throws(
      () => load("winogrande/default.yaml"),
      /default\.yaml:7: doc_to_text is Python \(!function preprocess_winogrande\.doc_to_text\)/,
    );
    assert.throws(
      () => load("wikitext/wikitext.yaml"),
      /wikitext\.yaml:9: doc_to_target is Python/,
    );
    assert.throws(
      () => load("gsm8k/gsm8k.yaml"),
      /gsm8k\.yaml:33: qbench scores one filter pipeline; this task has 2 \(strict-match, flexible-extract\)/,
    );
  });

  it("refuses an unknown key, metric or filter, and a !function inside an included file, at that file's line", () => {
    const dir = mkdtempSync(join(tmpdir(), "qbench-task-"));
    const write = (name: string, lines: string[]) => {
      writeFileSync(join(dir, name), `${lines.join("\n")}\n`);
      return join(dir, name);
    };
    const base = [
      "task: t",
      "dataset_path: json",
      "dataset_kwargs: { data_files: { test: d.jsonl } }",
      "test_split: test",
    ];
    writeFileSync(join(dir, "d.jsonl"), '{"q":"a","c":["x","y"],"g":0}\n');
    const opts = { datasets: env };
    assert.throws(
      () =>
        loadSuite(
          write("a.yaml", [...base, "output_type: multiple_choice", "doc_to_txt: q"]),
          undefined,
          opts,
        ),
      /a\.yaml:6: unknown key "doc_to_txt"/,
    );
    assert.throws(
      () =>
        loadSuite(
          write("b.yaml", [
            ...base,
            "output_type: multiple_choice",
            "doc_to_text: q",
            "doc_to_choice: c",
            "doc_to_target: g",
            "metric_list:",
            "  - metric: brier_score",
          ]),
          undefined,
          opts,
        ),
      /b\.yaml:10: metric "brier_score" is not one qbench scores for multiple_choice/,
    );
    assert.throws(
      () =>
        loadSuite(
          write("c.yaml", [
            ...base,
            "doc_to_text: q",
            "doc_to_target: g",
            "filter_list:",
            "  - name: x",
            "    filter:",
            "      - function: lowercase",
          ]),
          undefined,
          opts,
        ),
      /c\.yaml:10: filter "lowercase" is not one qbench runs/,
    );
    write("inc.yaml", ["output_type: multiple_choice", "doc_to_text: !function utils.text"]);
    assert.throws(
      () => loadSuite(write("d.yaml", ["include: inc.yaml", ...base]), undefined, opts),
      /inc\.yaml:2: doc_to_text is Python/,
    );
  });

  it("metric_list with acc_mutual_info asks for the unconditional requests; without it none are made", () => {
    const dir = mkdtempSync(join(tmpdir(), "qbench-task-"));
    writeFileSync(join(dir, "d.jsonl"), '{"q":"a","c":["x","y"],"g":0}\n');
    const task = (name: string, metrics: string[]) => {
      const lines = [
        "task: t",
        "dataset_path: json",
        "dataset_kwargs: { data_files: { test: d.jsonl } }",
        "test_split: test",
        "output_type: multiple_choice",
        "doc_to_text: q",
        "doc_to_choice: c",
        "doc_to_target: g",
        "metric_list:",
        ...metrics.map((m) => `  - metric: ${m}`),
      ];
      writeFileSync(join(dir, name), `${lines.join("\n")}\n`);
      return loadSuite(join(dir, name), undefined, { datasets: env });
    };
    const mi = choiceMetric(task("mi.yaml", ["acc", "acc_mutual_info"]));
    assert.equal(mi?.mutual_info, true);
    assert.deepEqual(gatedMetricNames([{ multiple_choice: mi as MultipleChoiceOptions }]), [
      "acc",
      "acc_norm",
      "acc_bytes",
      "acc_mutual_info",
    ]);
    assert.equal(choiceMetric(task("plain.yaml", ["acc"]))?.mutual_info, false);
  });

  it("num_fewshot with first_n (mmlu's dev split, set by an include wrapper): lm-eval's context, shots in order", () => {
    const dir = mkdtempSync(join(tmpdir(), "qbench-task-"));
    const wrapper = join(dir, "mmlu5.yaml");
    writeFileSync(
      wrapper,
      `include: ${join(TASKS, "mmlu/default/mmlu_abstract_algebra.yaml")}\nnum_fewshot: 5\n`,
    );
    const suite = loadSuite(wrapper, undefined, { datasets: env });
    const shot = (q: string, c: string[], a: string) =>
      `${q}\nA. ${c[0]}\nB. ${c[1]}\nC. ${c[2]}\nD. ${c[3]}\nAnswer: ${a}\n\n`;
    const expected =
      "The following are multiple choice questions (with answers) about abstract algebra.\n\n" +
      shot("What is 1 + 1?", ["1", "2", "3", "4"], "B") +
      shot("What is 2 + 2?", ["4", "5", "6", "7"], "A") +
      shot("What is 3 + 3?", ["5", "7", "6", "9"], "C") +
      shot("What is 4 + 4?", ["6", "7", "9", "8"], "D") +
      shot("What is 5 + 5?", ["10", "11", "12", "13"], "A") +
      "What is 6 + 6?\nA. 11\nB. 12\nC. 13\nD. 14\nAnswer:";
    assert.equal(suite.items[0]?.prompt, expected);
    assert.match(suite.description, /5-shot/);
  });

  it("num_fewshot with lm-eval's default sampler: drawn with the plan's seed, never the eval doc from its own split", () => {
    const dir = mkdtempSync(join(tmpdir(), "qbench-task-"));
    const task = (name: string, extra: string[]) => {
      const file = join(dir, name);
      writeFileSync(file, [`include: ${join(TASKS, "arc/arc_easy.yaml")}`, ...extra].join("\n"));
      return file;
    };
    const fromTrain = task("train.yaml", ["num_fewshot: 2"]);
    const a = loadSuite(fromTrain, undefined, { seed: 1, datasets: env });
    const b = loadSuite(fromTrain, undefined, { seed: 1, datasets: env });
    const c = loadSuite(fromTrain, undefined, { seed: 2, datasets: env });
    assert.deepEqual(
      a.items.map((i) => i.prompt),
      b.items.map((i) => i.prompt),
      "same seed, same shots",
    );
    assert.notDeepEqual(
      a.items.map((i) => i.prompt),
      c.items.map((i) => i.prompt),
      "another seed, other shots",
    );
    assert.notEqual(a.hash, c.hash);
    const trainQuestions = [
      "Which animal can fly?",
      "What falls from clouds?",
      "Which is hot?",
      "What do cows drink?",
    ];
    for (const item of a.items) {
      const shots = item.prompt.split("\n\n").slice(0, -1);
      assert.equal(shots.length, 2);
      for (const s of shots) {
        const q = /^Question: (.*)\nAnswer: (.*)$/.exec(s);
        assert.ok(q && trainQuestions.includes(q[1] ?? ""), s);
      }
      assert.notEqual(shots[0], shots[1], "two distinct shots");
    }
    // From the split under evaluation: the doc itself is never one of its shots (lm-eval's rm_eval_doc).
    const same = loadSuite(
      task("same.yaml", ["num_fewshot: 3", "fewshot_split: test"]),
      undefined,
      { seed: 3, datasets: env },
    );
    for (const item of same.items) {
      const parts = item.prompt.split("\n\n");
      const own = parts.at(-1) ?? "";
      assert.equal(parts.length, 4);
      for (const s of parts.slice(0, -1))
        assert.ok(!s.startsWith(own), `${own} among its own shots`);
    }
  });

  it("the bundled suites/demo-choice-lm-eval.yaml (an lm-eval task over a local JSONL) gives demo-choice's items", () => {
    const own = loadSuite(join(ROOT, "suites/demo-choice.yaml"));
    const task = loadSuite(join(ROOT, "suites/demo-choice-lm-eval.yaml"), undefined, {
      datasets: env,
    });
    assert.equal(task.items.length, 40);
    assert.deepEqual(
      task.items.map((i) => [i.prompt, i.choices, i.reference]),
      own.items.map((i) => [i.prompt, i.choices, i.reference]),
    );
  });
});
