import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { measuredCapacity } from "../../src/capacity/capacity.js";
import type { RunFacts, VariantFacts } from "../../src/verdict/facts.js";
import { Gates } from "../../src/verdict/gates.js";
import { decide } from "../../src/verdict/policy.js";

const MIB = 1024 * 1024;

function variant(name: string, isBaseline: boolean, extra: Partial<VariantFacts>): VariantFacts {
  return {
    id: isBaseline ? 1 : 2,
    name,
    precision: name,
    isBaseline,
    status: "complete",
    error: null,
    modelBytes: 1,
    peakRssBytes: null,
    failedItems: 0,
    quality: new Map(),
    completionTokens: new Map(),
    ttftMs: new Float64Array(),
    decodeTps: new Float64Array(),
    prefillTps: new Float64Array(),
    e2eMs: new Float64Array(),
    busyMs: 0,
    perplexity: new Map(),
    ...extra,
  };
}

function run(...variants: VariantFacts[]): RunFacts {
  return { runId: 1, planName: "t", planJson: "{}", status: "complete", startedAt: "", variants };
}

const reasons = (facts: RunFacts, gates: unknown, name: string, metric: string) =>
  decide(facts, Gates.parse(gates))
    .find((v) => v.variant === name)
    ?.reasons.filter((r) => r.metric === metric) ?? [];

describe("capacity and energy budgets", () => {
  // 8 GiB weights + 1 GiB compute in a 16 GiB budget leaves 7 GiB: at 512 MiB of KV per
  // 4096-cell sequence, 14 sequences; a q8_0 cache (272 MiB) fits 26.
  const engine = (kv: number) => ({
    engineModelBytes: 8192 * MIB,
    engineComputeBytes: 1024 * MIB,
    engineKvBytes: kv,
    engineContextSize: 4096,
  });

  it("counts the sequences and the context the engine's measured buffers leave room for", () => {
    assert.deepEqual(measuredCapacity(engine(512 * MIB), 16384 * MIB), {
      concurrentAtContext: 14,
      maxContext: 14 * 4096,
    });
    assert.deepEqual(measuredCapacity(engine(512 * MIB), 9000 * MIB), {
      concurrentAtContext: 0,
      maxContext: 0,
    });
    assert.equal(measuredCapacity({ ...engine(512 * MIB), engineKvBytes: null }, 1e12), undefined);
  });

  it("gates minConcurrentAtContext against budgets.deviceBytes", () => {
    const facts = run(
      variant("f16kv", true, engine(512 * MIB)),
      variant("q8kv", false, engine(272 * MIB)),
    );
    const gates = { budgets: { deviceBytes: 16384 * MIB, minConcurrentAtContext: 20 } };
    assert.equal(reasons(facts, gates, "f16kv", "concurrent_at_context")[0]?.status, "fail");
    const q8 = reasons(facts, gates, "q8kv", "concurrent_at_context")[0];
    assert.equal(q8?.status, "pass");
    assert.equal(q8?.value, 26);
  });

  it("is inconclusive, and says what to set, without a device budget", () => {
    const facts = run(variant("f16kv", true, engine(512 * MIB)));
    const r = reasons(
      facts,
      { budgets: { minConcurrentAtContext: 2 } },
      "f16kv",
      "concurrent_at_context",
    )[0];
    assert.equal(r?.status, "inconclusive");
    assert.match(r?.message ?? "", /set budgets\.deviceBytes/);
  });

  it("judges capacity in the device's total memory when the plan sets no budget", () => {
    const facts = run(
      variant("f16kv", true, { ...engine(512 * MIB), engineDeviceTotalBytes: 16384 * MIB }),
    );
    const r = reasons(
      facts,
      { budgets: { minConcurrentAtContext: 10 } },
      "f16kv",
      "concurrent_at_context",
    )[0];
    assert.equal(r?.status, "pass");
    assert.equal(r?.value, 14);
    assert.match(r?.message ?? "", /in 17\.2 GB \(the device's total\)/);
  });

  it("gates joules per generated token, and is inconclusive where energy was not measured", () => {
    const facts = run(
      variant("base", true, { energyJoules: 300, energyTokens: 1000 }),
      variant("int4", false, { energyJoules: null, energyTokens: null }),
    );
    const gates = { budgets: { maxJoulesPerToken: 0.5 } };
    const base = reasons(facts, gates, "base", "joules_per_token")[0];
    assert.equal(base?.status, "pass");
    assert.equal(base?.value, 0.3);
    assert.equal(reasons(facts, gates, "int4", "joules_per_token")[0]?.status, "inconclusive");
  });
});
