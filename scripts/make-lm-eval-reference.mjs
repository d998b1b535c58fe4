#!/usr/bin/env node
// Writes test/fixtures/choices/lm-eval-stories260K-f32.json (and the loglikelihood data it scores,
// lambada.jsonl and rolling.jsonl): scripts/lm-eval-port.mjs's port of lm-evaluation-harness run
// on stories260K through the llama.cpp runner, started as the test starts it. The file is a
// record (token ids, picks, figures on the machine that made it);
// test/orchestrator/choices-lm-eval.test.ts recomputes the figures live and checks the
// machine-independent token ids against it. Usage (after `npx tsc`):
//   node scripts/make-lm-eval-reference.mjs
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveRunner } from "../dist/src/runner-client/registry.js";
import { startRunner } from "../dist/src/runner-client/start.js";
import { lmEvalReference } from "./lm-eval-port.mjs";

const root = join(import.meta.dirname, "..");
const dir = join(root, "test/fixtures/choices");
const modelPath = join(root, "../shared/models/stories260K-f32.gguf");
const load = { backend: "cpu", contextSize: 256, seed: 1, threads: 1, model: modelPath };
const { client } = await startRunner(resolveRunner("cpu", undefined), load, 60_000);
const { result, lambada, rolling } = await lmEvalReference(client, root);
await client.stop();
const jsonl = (docs) => `${docs.map((d) => JSON.stringify(d)).join("\n")}\n`;
writeFileSync(join(dir, "lambada.jsonl"), jsonl(lambada));
writeFileSync(join(dir, "rolling.jsonl"), jsonl(rolling));
for (const key of ["loglikelihood_mean", "rolling_mean", "hellaswag_mean", "winogrande_mean"]) {
  console.log(key, JSON.stringify(result[key]));
}
writeFileSync(join(dir, "lm-eval-stories260K-f32.json"), `${JSON.stringify(result)}\n`);
