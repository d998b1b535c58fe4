import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Decoder, generateTimed } from "../../../runners/shared/generate.js";
import { RunnerError } from "../../../runners/shared/serve.js";
import type { GenerateParams } from "../../../src/runner-client/protocol.js";

const EOS = 0;

/** An engine whose tokens are letters' char codes, decoding `script` in order; counts its steps. */
function scripted(script: string, contextSize = 64) {
  const steps = { taken: 0, closed: false };
  const decoder: Decoder<number> = {
    contextSize,
    tokenize: (text) => [...text].map((c) => c.charCodeAt(0)),
    decode: async function* () {
      try {
        for (const c of script) {
          steps.taken++;
          await new Promise((done) => setTimeout(done, 2));
          yield c === "$" ? EOS : c.charCodeAt(0);
        }
      } finally {
        steps.closed = true;
      }
    },
    isEndOfGeneration: (token) => token === EOS,
    detokenize: (completion) => String.fromCharCode(...completion),
  };
  return { decoder, steps };
}

const params = (over: Partial<GenerateParams>): GenerateParams => ({
  prompt: "abc",
  maxTokens: 10,
  stop: [],
  temperature: 0,
  ...over,
});

describe("runner kit: generateTimed (a scripted engine)", () => {
  it("stops at EOS without counting it, and times the loop inside the runner", async () => {
    const { decoder, steps } = scripted("hi$never");
    const receivedAt = performance.now();
    const out = await generateTimed(decoder, params({}), receivedAt);
    assert.equal(out.text, "hi");
    assert.equal(out.finishReason, "eos");
    assert.equal(out.promptTokens, 3);
    assert.equal(out.completionTokens, 2);
    assert.equal(steps.taken, 3, "no step past EOS");
    assert.ok(steps.closed, "the engine's iterator is closed");
    assert.ok(out.tokenizeMs >= 0 && out.ttftMs >= out.tokenizeMs, JSON.stringify(out));
    // First to last sampled token: three 2 ms steps, two gaps between them.
    assert.ok(out.decodeMs >= 3, JSON.stringify(out));
    assert.ok(out.totalMs >= out.ttftMs + out.decodeMs, JSON.stringify(out));
  });

  it("cuts at the earliest stop string and at maxTokens", async () => {
    const stopped = await generateTimed(
      scripted("one. two.").decoder,
      params({ stop: ["o.", "."] }),
      performance.now(),
    );
    assert.deepEqual(
      [stopped.text, stopped.finishReason, stopped.completionTokens],
      ["one", "stop", 4],
    );
    const { decoder, steps } = scripted("abcdefgh");
    const long = await generateTimed(decoder, params({ maxTokens: 3 }), performance.now());
    assert.deepEqual([long.text, long.finishReason, long.completionTokens], ["abc", "length", 3]);
    assert.equal(steps.taken, 3);
  });

  it("keeps the completion inside the context; a prompt that fills it is CONTEXT_OVERFLOW", async () => {
    const fits = await generateTimed(
      scripted("abcdefgh", 6).decoder,
      params({}),
      performance.now(),
    );
    assert.equal(fits.completionTokens, 3, "6 context − 3 prompt tokens");
    await assert.rejects(
      generateTimed(scripted("x", 3).decoder, params({}), performance.now()),
      (e) => e instanceof RunnerError && e.code === "CONTEXT_OVERFLOW",
    );
  });
});
