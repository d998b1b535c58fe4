import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkResult } from "../../src/runner-client/results.js";

const EVALUATE = { tokens: [5, 6, 7], scoreFrom: 1, topK: 2, targets: [[1, 2], [3]] };
const SCORED = [
  {
    logprob: -1.5,
    top: [
      [6, -0.5],
      [9, -1.2],
    ],
    targets: [-2, -3],
  },
  // JSON has no NaN: a target the engine could not score arrives as null.
  { logprob: -0.25, top: [[7, -0.25]], targets: [null] },
];

describe("runner result schemas", () => {
  it("accepts what the bundled runners answer, optional fields absent or present", () => {
    const good = [
      checkResult(
        "initialize",
        {},
        {
          name: "x",
          version: "1",
          protocolVersion: 1,
          engine: "e",
          backends: ["cpu"],
          capabilities: ["generate"],
        },
      ),
      checkResult(
        "load",
        { model: "m", backend: "cpu", contextSize: 16, seed: 0, threads: 1 },
        {
          backend: "cpu",
          device: "d",
          modelBytes: 1,
          parameterCount: 1,
          tensorTypes: { F16: 3 },
          loadMs: 1,
          contextSize: 16,
          allocatedContextSize: 256,
          vocabularySize: 32000,
          addBos: true,
          bos: 1,
          extra: "a runner may say more",
        },
      ),
      checkResult("evaluate", EVALUATE, { scored: SCORED, evalMs: 3 }),
      checkResult("memory", {}, { rss: 1, device: { used: 1, total: 2 } }),
      checkResult("shutdown", {}, { anything: "is ignored" }),
    ];
    assert.deepEqual(good, [undefined, undefined, undefined, undefined, undefined]);
  });

  it("names the first bad field by its path", () => {
    assert.deepEqual(checkResult("memory", {}, "lots"), {
      field: "",
      message: "Invalid input: expected object, received string",
    });
    const badTop = structuredClone(SCORED);
    (badTop[1] as { top: unknown[] }).top[0] = [7, "-0.25"];
    assert.deepEqual(checkResult("evaluate", EVALUATE, { scored: badTop, evalMs: 3 }), {
      field: "scored[1].top[0][1]",
      message: "expected number, got string",
    });
    assert.deepEqual(checkResult("tokenize", { text: "a" }, { tokens: [1, -2] }), {
      field: "tokens[1]",
      message: "expected a token id (an integer ≥ 0), got -2",
    });
  });

  it("holds evaluate to its params: one position per scored token, one value per target", () => {
    assert.deepEqual(checkResult("evaluate", EVALUATE, { scored: SCORED.slice(1), evalMs: 3 }), {
      field: "scored",
      message: "expected 2 positions (tokens − scoreFrom), got 1",
    });
    const short = structuredClone(SCORED);
    short[0]?.targets.pop();
    assert.deepEqual(checkResult("evaluate", EVALUATE, { scored: short, evalMs: 3 }), {
      field: "scored[0].targets",
      message: "expected 2 target log-probs, got 1",
    });
  });

  it("holds collectImatrix to its shape: names, sums a multiple of the counts, whole counts; matrices when read", () => {
    const params = { chunks: [[1, 2, 3]], read: true };
    const matrix = { name: "blk.0.attn_q.weight", sums: [1.5, 2, 0.25, 4], counts: [3, 3] };
    assert.equal(
      checkResult("collectImatrix", params, { tokens: 3, evalMs: 1, matrices: [matrix] }),
      undefined,
    );
    assert.equal(
      checkResult("collectImatrix", { chunks: [[1]] }, { tokens: 1, evalMs: 1 }),
      undefined,
    );
    assert.deepEqual(checkResult("collectImatrix", params, { tokens: 3, evalMs: 1 }), {
      field: "matrices",
      message: "expected the matrices (collectImatrix with read)",
    });
    const bad = (patch: Record<string, unknown>) =>
      checkResult("collectImatrix", params, {
        tokens: 3,
        evalMs: 1,
        matrices: [matrix, { ...matrix, ...patch }],
      });
    assert.deepEqual(bad({ sums: [1, 2, 3] }), {
      field: "matrices[1].sums",
      message: "expected a non-empty array whose length is a multiple of counts' (2)",
    });
    assert.deepEqual(bad({ sums: [1, "2"] }), {
      field: "matrices[1].sums[1]",
      message: "expected number, got string",
    });
    assert.deepEqual(bad({ counts: [3, 1.5] }), {
      field: "matrices[1].counts[1]",
      message: "expected an integer ≥ 0",
    });
    assert.deepEqual(bad({ name: "" }), {
      field: "matrices[1].name",
      message: "expected a tensor name, got string",
    });
  });

  it("holds tokenizeBatch to its params: one list of token ids per text", () => {
    const texts = { texts: ["a b", "c"] };
    assert.equal(checkResult("tokenizeBatch", texts, { batch: [[1, 2], [3]] }), undefined);
    assert.deepEqual(checkResult("tokenizeBatch", texts, { batch: [[1, 2]] }), {
      field: "batch",
      message: "expected 2 token lists (one per text), got 1",
    });
    assert.deepEqual(
      checkResult("tokenizeBatch", texts, {
        batch: [
          [1, 2],
          [3, -1],
        ],
      }),
      {
        field: "batch[1][1]",
        message: "expected a token id (an integer ≥ 0), got -1",
      },
    );
  });
  it("holds evaluateBatch to its params: one evaluate result per window, each of its shape", () => {
    const windows = [
      { tokens: [1, 2, 3], scoreFrom: 1, topK: 0 },
      { tokens: [1, 2, 3, 4], scoreFrom: 2, topK: 0, targets: [[5], [6]] },
    ];
    const first = { scored: [{ logprob: -1 }, { logprob: -2 }], evalMs: 1 };
    const second = {
      scored: [
        { logprob: -1, targets: [-3] },
        { logprob: -2, targets: [-4] },
      ],
      evalMs: 1,
    };
    const params = { windows };
    assert.equal(
      checkResult("evaluateBatch", params, { results: [first, second], evalMs: 2 }),
      undefined,
    );
    assert.deepEqual(checkResult("evaluateBatch", params, { results: [first], evalMs: 2 }), {
      field: "results",
      message: "expected 2 results (one per window), got 1",
    });
    assert.deepEqual(checkResult("evaluateBatch", params, { results: [first, first], evalMs: 2 }), {
      field: "results[1].scored[0].targets",
      message: "expected 1 target log-probs, got none",
    });
    assert.deepEqual(
      checkResult("evaluateBatch", params, {
        results: [{ scored: [{ logprob: -1 }], evalMs: 1 }, second],
        evalMs: 2,
      }),
      { field: "results[0].scored", message: "expected 2 positions (tokens − scoreFrom), got 1" },
    );
  });
});
