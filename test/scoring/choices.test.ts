import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  accMutualInfo,
  argmax,
  continuationTokens,
  hellaswagSequences,
  lmEvalChoiceScores,
  planShared,
  spanLogprobs,
  splitPair,
  truncateLeft,
  winograndeTerms,
} from "../../src/scoring/choices.js";

describe("multiple-choice scoring (pure)", () => {
  it("splits as lm-eval's _encode_pair: the context's trailing whitespace moves to the continuation", () => {
    assert.deepEqual(splitPair("Q: 2+2= A: ", " 4"), ["Q: 2+2= A:", "  4"]);
    assert.deepEqual(splitPair("Answer:\n", "yes"), ["Answer:", "\nyes"]);
    assert.deepEqual(splitPair("Answer:", " yes"), ["Answer:", " yes"]);
    // By count, not by match: where the whole string tokenizes the boundary otherwise, lm-eval
    // still cuts at the context's length.
    assert.deepEqual(continuationTokens([1, 5, 6], [1, 5, 7, 8]), [8]);
    assert.deepEqual(continuationTokens([1, 5], [1, 5, 7, 8]), [7, 8]);
  });

  it("picks the first maximum, as numpy's argmax", () => {
    assert.equal(argmax([-3, -1, -1, -2]), 1);
  });

  it("acc_norm divides by code points (Python len), acc_bytes by UTF-8 bytes", () => {
    // "é" is 1 code point and 2 bytes: per character the second choice wins, per byte the first.
    const lls = [-4.0, -4.5];
    const scores = lmEvalChoiceScores(lls, ["abcd", "éé"], 0);
    assert.equal(scores.pred, 0);
    assert.equal(scores.predNorm, 0); // -1 vs -2.25
    assert.equal(lmEvalChoiceScores([-4.0, -2.5], ["abcd", "éé"], 1).predNorm, 0); // -1 vs -1.25
    const bytes = lmEvalChoiceScores([-4.0, -3.5], ["abcd", "é"], 1);
    assert.equal(bytes.pred, 1);
    assert.equal(bytes.predNorm, 0); // -1 vs -3.5 per character
    assert.equal(bytes.predBytes, 1 - 1); // -1 vs -1.75 per byte
    assert.deepEqual([bytes.acc, bytes.acc_norm, bytes.acc_bytes], [1, 0, 0]);
  });

  it("plans one shared context: n choices cost the context once plus their own tokens", () => {
    const context = [1, 10, 11, 12, 13, 14, 15, 16];
    const plan = planShared([
      { tokens: [...context, 20, 21], from: 8 },
      { tokens: [...context, 30], from: 8 },
      { tokens: [...context, 20, 21, 22], from: 8 },
      { tokens: [...context, 40, 41], from: 8 },
    ]);
    assert.deepEqual(plan.context, context);
    // The first choice is a prefix of the third: it reuses that continuation.
    assert.deepEqual(plan.continuations, [[20, 21, 22], [40, 41], [30]]);
    const answers = [[-1, -2, -3], [-4, -5], [-6]];
    assert.deepEqual(spanLogprobs(plan, answers), [[-1, -2], [-6], [-1, -2, -3], [-4, -5]]);
  });

  it("shares only the prefix no sequence scores", () => {
    const plan = planShared([
      { tokens: [1, 2, 3, 4], from: 2 },
      { tokens: [1, 2, 3, 5], from: 3 },
    ]);
    assert.deepEqual(plan.context, [1, 2]);
    assert.deepEqual(
      spanLogprobs(plan, [
        [-1, -2],
        [-3, -4],
      ]),
      [[-1, -2], [-4]],
    );
    assert.throws(() => planShared([{ tokens: [1, 2], from: 0 }]), /no first token/);
  });

  it("hellaswag: every ending token after the endings' common prefix", () => {
    const seqs = hellaswagSequences([
      [1, 5, 6, 7],
      [1, 5, 8],
    ]);
    assert.deepEqual(
      seqs.map((s) => s.from),
      [2, 2],
    );
    assert.throws(
      () =>
        hellaswagSequences([
          [1, 5],
          [1, 5, 6],
        ]),
      /adds no token/,
    );
  });

  it("winogrande: what follows the choice, last token left out, when both have more than 3 tokens after the common prefix", () => {
    // sentence 0 = [1, 9 | 20 | 30, 31, 32, 33], sentence 1 = [1, 9 | 21 | 30, 31, 32, 33]
    const s0 = [1, 9, 20, 30, 31, 32, 33];
    const s1 = [1, 9, 21, 30, 31, 32, 33];
    const [a, b] = winograndeTerms([s0, s1], [3, 3]);
    // Tokens 30, 31, 32 scored (33, the last, left out), each after its own sentence's prefix.
    assert.deepEqual(
      a.map((t) => t.tokens),
      [s0.slice(0, 4), s0.slice(0, 5), s0.slice(0, 6)],
    );
    assert.deepEqual(
      b.map((t) => t.tokens),
      [s1.slice(0, 4), s1.slice(0, 5), s1.slice(0, 6)],
    );
  });

  it("winogrande: with 3 or fewer trailing tokens the choice is scored too, and the second choice's first term reads the first sentence's last row (llama.cpp's FIXME)", () => {
    const s0 = [1, 9, 20, 30, 33];
    const s1 = [1, 9, 21, 30, 33];
    const [a, b] = winograndeTerms([s0, s1], [3, 3]);
    assert.deepEqual(
      a.map((t) => t.tokens),
      [s0.slice(0, 3), s0.slice(0, 4)],
    );
    // First term: token 21 after all of s0 (the row llama.cpp reads), then 30 after s1's prefix.
    assert.deepEqual(
      b.map((t) => t.tokens),
      [[...s0, 21], s1.slice(0, 4)],
    );
  });
});

describe("lm-eval's acc_mutual_info (accMutualInfo)", () => {
  it("takes the argmax of ll − unconditional ll, which can differ from acc's", () => {
    // acc picks 0 (−1 > −2); less the unconditional lls (−0.5, −3): −0.5 vs 1, the second wins.
    assert.equal(accMutualInfo([-1, -2], [-0.5, -3], 1), 1);
    assert.equal(accMutualInfo([-1, -2], [-0.5, -3], 0), 0);
    assert.throws(() => accMutualInfo([-1, -2], [-1], 0), /2 log-likelihoods, 1 unconditional/);
  });
});

describe("lm-eval's left truncation (truncateLeft)", () => {
  it("keeps the last maxLength + 1 tokens, the scored ones whole; refuses a continuation that cannot fit", () => {
    const seq = { tokens: [1, 2, 3, 4, 5, 6, 7], from: 5 };
    assert.deepEqual(truncateLeft(seq, 6), { sequence: seq, truncated: false });
    assert.deepEqual(truncateLeft(seq, 3), {
      sequence: { tokens: [4, 5, 6, 7], from: 2 },
      truncated: true,
    });
    assert.deepEqual(truncateLeft(seq, 2).sequence, { tokens: [5, 6, 7], from: 1 });
    assert.throws(() => truncateLeft(seq, 1), /continuation's 2 tokens exceed the 1/);
  });
});
