import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import type { RunnerClient } from "../../src/runner-client/client.js";
import { resolveRunner } from "../../src/runner-client/registry.js";
import { startRunner } from "../../src/runner-client/start.js";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { storedResults } from "../support/db.js";
import { model, ROOT, SUPPORT } from "../support/paths.js";
import { writePlan } from "../support/plans.js";

/** What this test reads of scripts/lm-eval-port.mjs's reference. */
interface Port {
  loglikelihood_mean: { perplexity: number; acc: number };
  rolling_mean: Record<"word_perplexity" | "byte_perplexity" | "bits_per_byte", number>;
}

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
    const out = await qbench(["run", join(dir, "plan.yaml"), "--db", join(dir, "run.db")], {
      timeout: 300_000,
    });
    const text = out.stdout + out.stderr;
    assert.equal(out.exitCode, 0, text);
    // The port's figures, computed here (the engine's log-probs depend on the CPU its prebuilt
    // binary runs on): on an AVX2 EPYC perplexity 81.2685, acc 4/14; word_perplexity 23.9466,
    // byte_perplexity 1.9240, bits_per_byte 0.9441.
    const load = { backend: "cpu" as const, contextSize: 256, seed: 1, threads: 1 };
    const spec = { ...load, model: model("stories260K-f32.gguf") };
    const { client } = await startRunner(resolveRunner("cpu", undefined), spec, 60_000);
    const port = (await import(pathToFileURL(join(ROOT, "scripts/lm-eval-port.mjs")).href)) as {
      lmEvalReference(client: RunnerClient, root: string): Promise<{ result: Port }>;
    };
    const { result } = await port.lmEvalReference(client, ROOT).finally(() => client.stop());
    const lambada = /lambada\s+n=14\s+acc (\S+)\s+perplexity (\S+)/.exec(text);
    assert.ok(lambada, text);
    assert.equal(lambada[1], result.loglikelihood_mean.acc.toFixed(3));
    // Printed to 4 decimals; lambada's items go through scoreChoices (within 1e-4 each).
    const perplexity = Number(lambada[2]);
    const want = result.loglikelihood_mean.perplexity;
    assert.ok(Math.abs(perplexity / want - 1) < 1e-5, `${perplexity} vs ${want}`);
    const r = result.rolling_mean;
    // Rolling windows are the port's own whole-sequence evaluates: the same figures exactly.
    const line = `rolling            n=6  word_perplexity ${r.word_perplexity.toFixed(4)}  byte_perplexity ${r.byte_perplexity.toFixed(4)}  bits_per_byte ${r.bits_per_byte.toFixed(4)}`;
    assert.ok(text.includes(line), `${line}\n${text}`);
  });
});
