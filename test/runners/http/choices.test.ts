/**
 * scoreChoices through the http runner: prompt log-probs in vLLM's and SGLang's shapes from the
 * loopback test server over the real llama.cpp runner (vLLM and SGLang cannot run here), and
 * llama-server's kind, which has no prompt log-probs, skipped as UNSUPPORTED.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RunnerFailure } from "../../../src/errors.js";
import type { LoadParams } from "../../../src/runner-client/protocol.js";
import { resolveRunner } from "../../../src/runner-client/registry.js";
import { type StartedRunner, startRunner } from "../../../src/runner-client/start.js";
import { qbench, tempDir, writeFiles } from "../../support/cli.js";
import { storedResults } from "../../support/db.js";
import { OpenAiTestServer } from "../../support/openai-server.js";
import { model, ROOT } from "../../support/paths.js";

const MODEL = model("stories260K-f16.gguf");

function startHttp(url: string, server: string): Promise<StartedRunner> {
  const load: LoadParams = {
    model: "stories-test",
    backend: "cpu",
    contextSize: 256,
    seed: 1,
    threads: 1,
    options: { baseUrl: url, server },
  };
  return startRunner(resolveRunner("cpu", "http"), load, 30_000);
}

describe("http runner scoreChoices over prompt log-probs (loopback server in vLLM's and SGLang's shapes over llama.cpp; vLLM itself cannot run here)", () => {
  let server: OpenAiTestServer;
  let direct: StartedRunner;

  before(async () => {
    server = await OpenAiTestServer.start({ model: MODEL });
    direct = await startRunner(
      resolveRunner("cpu", undefined),
      { model: MODEL, backend: "cpu", contextSize: 256, seed: 1, threads: 1 },
      60_000,
    );
  });
  after(async () => {
    await direct?.client.stop();
    await server?.close();
  });

  async function item(): Promise<{ context: number[]; continuations: number[][] }> {
    const { tokens: context } = await direct.client.request("tokenize", {
      text: "Once upon a time, there was a little girl named Lily. She",
    });
    const endings = [" loved to play outside.", " was sad.", " saw a big dog in the park.", "."];
    const continuations = await Promise.all(
      endings.map(
        async (text) => (await direct.client.request("tokenize", { text, addBos: false })).tokens,
      ),
    );
    return { context, continuations };
  }

  for (const kind of ["vllm", "sglang"]) {
    it(`${kind}: lists choices once loaded; each continuation's log-probs and greedy flag are a whole-sequence evaluate's`, async () => {
      const http = await startHttp(server.url, kind);
      try {
        assert.ok(!http.init.capabilities.includes("choices"), "the kind is known only at load");
        assert.ok(http.loaded.capabilities?.includes("choices"));
        const { context, continuations } = await item();
        const out = await http.client.request("scoreChoices", { context, continuations });
        assert.equal(out.choices.length, continuations.length);
        for (const [i, continuation] of continuations.entries()) {
          const whole = await direct.client.request("evaluate", {
            tokens: [...context, ...continuation],
            scoreFrom: context.length,
            topK: 1,
          });
          const choice = out.choices[i];
          assert.ok(choice);
          assert.deepEqual(
            choice.logprobs,
            whole.scored.map((s) => s.logprob),
          );
          const greedy = whole.scored.every((s, j) => s.top?.[0]?.[0] === continuation[j]);
          assert.equal(choice.greedy, greedy, `choice ${i} greedy`);
        }
        // A one-token continuation that is the model's argmax after the context: greedy true.
        const top = await direct.client.request("evaluate", {
          tokens: [...context, 0],
          scoreFrom: context.length,
          topK: 1,
        });
        const argmax = top.scored[0]?.top?.[0]?.[0] as number;
        const again = await http.client.request("scoreChoices", {
          context,
          continuations: [[argmax], [argmax === 5 ? 6 : 5]],
        });
        assert.deepEqual(
          again.choices.map((c) => c.greedy),
          [true, false],
        );
        await assert.rejects(
          http.client.request("scoreChoices", { context: [], continuations: [[5]] }),
          (e) => e instanceof RunnerFailure && e.runnerCode === "BAD_PARAMS",
        );
      } finally {
        await http.client.stop();
      }
    });
  }

  it("llama-server: no choices once loaded, and a scoreChoices sent anyway is UNSUPPORTED naming the server and why", async () => {
    const http = await startHttp(server.url, "llama-server");
    try {
      assert.ok(!(http.loaded.capabilities ?? ["choices"]).includes("choices"));
      await assert.rejects(
        http.client.request("scoreChoices", { context: [1, 403], continuations: [[407]] }),
        (e) => {
          assert.ok(e instanceof RunnerFailure);
          assert.equal(e.runnerCode, "UNSUPPORTED");
          assert.match(
            e.message,
            /llama-server at http:\/\/127\.0\.0\.1:\d+ cannot score choices \(log-likelihood\): its \/v1\/completions ignores `echo`/,
          );
          return true;
        },
      );
    } finally {
      await http.client.stop();
    }
  });

  it("qbench run: a multiple-choice suite scored through the http runner (vLLM shapes) picks as the local llama.cpp variant does; a llama-server variant is skipped with the reason, never scored", async () => {
    const dir = tempDir();
    const suite = join(ROOT, "test/fixtures/choices/hellaswag.yaml");
    writeFiles(dir, {
      "plan.yaml": [
        "name: served-choices",
        "variants:",
        "  - name: local",
        `    model: ${MODEL}`,
        "    baseline: true",
        "  - name: vllm",
        "    runner: http",
        "    model: auto",
        `    http: { baseUrl: "${server.url}", server: vllm }`,
        "  - name: llamaserver",
        "    runner: http",
        "    model: auto",
        `    http: { baseUrl: "${server.url}", server: llama-server }`,
        "suites:",
        `  - ${suite}`,
        "backend: cpu",
        "contextSize: 256",
        "threads: 1",
        "warmup: 0",
        "perf: []",
        "gates: { inconclusive: ship }",
      ].join("\n"),
    });
    const db = join(dir, "run.db");
    const out = await qbench(["run", join(dir, "plan.yaml"), "--db", db], { timeout: 300_000 });
    const text = out.stdout + out.stderr;
    assert.ok([0, 1].includes(out.exitCode), text);
    assert.match(
      text,
      /llamaserver × hellaswag: skipped, the runner cannot score choices \(no scoreChoices on llama-server at http:\/\/127\.0\.0\.1:\d+\)/,
    );
    const rows = storedResults(db).filter((r) => r.suite === "hellaswag");
    const local = rows.filter((r) => r.variant === "local");
    const served = rows.filter((r) => r.variant === "vllm");
    assert.equal(local.length, 40);
    assert.equal(served.length, 40);
    assert.equal(rows.filter((r) => r.variant === "llamaserver").length, 0);
    const scores = (output: string | null | undefined) =>
      [...(output ?? "").matchAll(/^[ →] \d+: (-?\d+\.\d{4})/gm)].map((m) => Number(m[1]));
    for (const row of local) {
      const other = served.find((r) => r.item === row.item);
      assert.equal(other?.metrics, row.metrics, `${row.item} metrics`);
      assert.equal(other?.output?.split("\n")[0], row.output?.split("\n")[0], `${row.item} pick`);
      // Each choice's summed log-prob as stored (4 decimals): the llama.cpp runner's batched
      // sequences agree with a whole-sequence evaluate within 1e-5 a token, so a printed figure
      // may land one step of 1e-4 apart (hs-09: -16.5002 vs -16.5003).
      const mine = scores(other?.output);
      const theirs = scores(row.output);
      assert.equal(mine.length, 4);
      assert.equal(theirs.length, 4);
      mine.forEach((s, i) => {
        assert.ok(
          Math.abs(s - (theirs[i] as number)) <= 1.5e-4,
          `${row.item} choice ${i}: ${s} vs ${theirs[i]}`,
        );
      });
    }
  });
});
