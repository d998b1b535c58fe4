import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { storedResults } from "../support/db.js";
import { model, ROOT, SUPPORT } from "../support/paths.js";
import { writePlan } from "../support/plans.js";

const SUITE = join(ROOT, "test/fixtures/choices/hellaswag.yaml");

describe("qbench run with a multiple-choice suite (real llama.cpp runner on stories260K; a fake runner without scoreChoices)", () => {
  it("stores acc/acc_norm/acc_bytes and each pick, gates them with McNemar and flips, shows choices in the report, and skips a runner that cannot score choices", async () => {
    const dir = tempDir();
    const fake = [process.execPath, join(SUPPORT, "fake-runners.js"), "ok"];
    const plan = writePlan(
      dir,
      [
        { name: "f32", file: "stories260K-f32.gguf", extra: "    baseline: true" },
        { name: "q4", file: "stories260K-q4_0.gguf" },
        { name: "fake", runner: fake },
      ],
      [SUITE],
      "gates: { flips: { maxRate: 0.5 } }",
    );
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db], { timeout: 300_000 });
    const text = out.stdout + out.stderr;
    assert.ok([0, 1].includes(out.exitCode), text);
    // The same figures as the lm-eval port (test/fixtures/choices/lm-eval-stories260K-f32.json).
    assert.match(text, /hellaswag\s+n=40\s+acc 0\.500\s+acc_norm 0\.375\s+acc_bytes 0\.375/);
    assert.match(text, /acc on hellaswag: .*McNemar p=.*flips \d+\.\d %/);
    assert.match(text, /flips of acc on hellaswag: .* vs ≤ 50\.0 %/);
    assert.match(text, /fake × hellaswag: skipped, the runner cannot score choices/);

    const rows = storedResults(db).filter((r) => r.suite === "hellaswag");
    assert.equal(rows.filter((r) => r.variant === "f32").length, 40);
    assert.equal(rows.filter((r) => r.variant === "fake").length, 0);
    const first = rows.find((r) => r.variant === "f32" && r.item === "hs-01");
    assert.match(first?.metrics ?? "", /^acc=[01] acc_bytes=[01] acc_norm=[01]$/);
    assert.match(first?.output ?? "", /^pick \d: .*\n[ →] 0: -\d+\.\d{4} {2}played on the swings/);

    const report = readFileSync(join(dir, "report-1.html"), "utf8");
    assert.match(report, /choices \(\* gold\):/);
  });

  it("reports loglikelihood and loglikelihood_rolling suites as lm-eval aggregates them (the same figures as its port)", async () => {
    const dir = tempDir();
    const fixtures = join(ROOT, "test/fixtures/choices");
    writeFiles(dir, {
      "plan.yaml": [
        "name: ll",
        "variants:",
        `  - { name: f32, model: ${model("stories260K-f32.gguf")}, precision: f32 }`,
        "suites:",
        `  - ${join(fixtures, "lambada.yaml")}`,
        `  - ${join(fixtures, "rolling.yaml")}`,
        "backend: cpu",
        // The port's max_length: the documents roll over several windows.
        "contextSize: 64",
        "threads: 1",
        "warmup: 0",
        "perf: []",
      ].join("\n"),
    });
    const db = join(dir, "run.db");
    const out = await qbench(["run", join(dir, "plan.yaml"), "--db", db], { timeout: 300_000 });
    const text = out.stdout + out.stderr;
    assert.equal(out.exitCode, 0, text);
    // lm-eval's aggregations, computed here from the log-likelihoods the runner stored per item:
    // perplexity = exp(−mean ll); word_perplexity = exp(−Σll / Σwords), byte_perplexity =
    // exp(−Σll / Σbytes), bits_per_byte = −Σll / Σbytes / ln 2 (lm-eval's weighted_perplexity and
    // bits_per_byte). Not fixed figures: llama.cpp's log-likelihoods move in the 4th digit with
    // the CPU's kernels (81.2828 on AVX-512, 81.2685 on AVX2); test/orchestrator/choices-lm-eval.test.ts
    // holds those to the lm-eval port.
    const items = (suite: string) =>
      storedResults(db)
        .filter((r) => r.suite === suite)
        .map((r) => {
          const metrics = Object.fromEntries(
            r.metrics.split(" ").map((pair) => {
              const [name, value] = pair.split("=");
              return [name, Number(value)];
            }),
          ) as Record<string, number>;
          for (const name of [
            "loglikelihood",
            ...(suite === "rolling" ? ["ll_words", "ll_bytes"] : []),
          ]) {
            assert.ok(Number.isFinite(metrics[name]), `${r.item}: ${name} in ${r.metrics}`);
          }
          return metrics as Record<string, number> & { loglikelihood: number };
        });
    const sum = (rows: Array<Record<string, number>>, name: string) =>
      rows.reduce((s, m) => s + (m[name] as number), 0);
    const lambada = items("lambada");
    assert.equal(lambada.length, 14);
    // Greedy matches: the same 4 of 14 as the port on either kind of CPU.
    assert.equal(sum(lambada, "acc"), 4);
    const perplexity = Math.exp(-sum(lambada, "loglikelihood") / lambada.length);
    assert.ok(
      text.includes(`lambada            n=14  acc 0.286  perplexity ${perplexity.toFixed(4)}`),
      `perplexity ${perplexity}:\n${text}`,
    );
    const rolling = items("rolling");
    assert.equal(rolling.length, 6);
    const ll = sum(rolling, "loglikelihood");
    const [words, bytes] = [sum(rolling, "ll_words"), sum(rolling, "ll_bytes")];
    const figures = [
      `word_perplexity ${Math.exp(-ll / words).toFixed(4)}`,
      `byte_perplexity ${Math.exp(-ll / bytes).toFixed(4)}`,
      `bits_per_byte ${(-ll / bytes / Math.LN2).toFixed(4)}`,
    ];
    assert.ok(
      text.includes(`rolling            n=6  ${figures.join("  ")}`),
      `${figures.join(", ")}:\n${text}`,
    );
  });
});
