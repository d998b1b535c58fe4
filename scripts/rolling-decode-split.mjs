#!/usr/bin/env node
// Diagnostic (not run by CI): per rolling window of test/fixtures/choices/rolling.jsonl (stories260K
// F32, max_length 64, as choices-lm-eval.test.ts), the log-probs of one whole-sequence `evaluate`
// (lm-eval's one forward pass, what qbench's loglikelihood_rolling now uses) against `scoreChoices`
// on the same window (context decode, then continuation decode): the document sums and the largest
// per-token difference. Usage (after `npx tsc`): node scripts/rolling-decode-split.mjs
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { resolveRunner } from "../dist/src/runner-client/registry.js";
import { startRunner } from "../dist/src/runner-client/start.js";
import { rollingWindows } from "../dist/src/scoring/loglikelihood.js";

const root = join(import.meta.dirname, "..");
const modelPath = join(root, "../shared/models/stories260K-f32.gguf");
const load = { backend: "cpu", contextSize: 256, seed: 1, threads: 1, model: modelPath };
const { client } = await startRunner(resolveRunner("cpu", undefined), load, 60_000);
const docs = readFileSync(join(root, "test/fixtures/choices/rolling.jsonl"), "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => JSON.parse(line));
const bos = (await client.request("tokenize", { text: "", addBos: true })).tokens[0];
for (const doc of docs) {
  const { tokens } = await client.request("tokenize", { text: doc.text, addBos: true });
  let whole = 0;
  let split = 0;
  let n = 0;
  let worst = 0;
  for (const w of rollingWindows(tokens, bos, 64)) {
    const params = { tokens: [...w.context, ...w.continuation], scoreFrom: w.context.length };
    const ev = await client.request("evaluate", { ...params, topK: 0 });
    const sc = await client.request("scoreChoices", {
      context: w.context,
      continuations: [w.continuation],
    });
    const logprobs = sc.choices[0].logprobs;
    ev.scored.forEach((s, i) => {
      worst = Math.max(worst, Math.abs(logprobs[i] - s.logprob));
      whole += s.logprob;
      split += logprobs[i];
      n++;
    });
  }
  console.log(
    `${doc.id}: ${n} tokens, evaluate ${whole.toFixed(4)}, scoreChoices ${split.toFixed(4)}, difference ${(split - whole).toFixed(5)}, largest per token ${worst.toExponential(2)}`,
  );
}
await client.stop();
