import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { qbench } from "../support/cli.js";

describe("qbench doctor", () => {
  it("says what this machine can run, with hints, and exits 0 when the CPU path works", async () => {
    const out = await qbench(["doctor", "--json"]);
    assert.equal(out.exitCode, 0, out.stderr);
    const report = JSON.parse(out.stdout.trim()) as {
      ok: boolean;
      checks: Array<{ name: string; ok: boolean; detail: string; hint?: string }>;
    };
    assert.equal(report.ok, true);
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    assert.match(
      byName.get("backend cpu")?.detail ?? "",
      /^llama\.cpp \S+ \(prebuilt|localBuild\)/,
    );
    assert.match(byName.get("cpu")?.detail ?? "", /\d+ cores/);
    for (const name of [
      "backend cuda",
      "backend vulkan",
      "backend metal",
      "nvidia-smi",
      "webgpu",
    ]) {
      const check = byName.get(name);
      assert.ok(check, name);
      if (!check.ok) assert.ok(check.hint, `${name} says what to do`);
    }
    // The native scorer, where npm install built it; either way doctor says which path scores.
    const scorer = byName.get("native scorer");
    assert.ok(scorer);
    assert.match(
      scorer.detail,
      scorer.ok ? /^built for node-llama-cpp \d+\.\d+\.\d+: / : /node-llama-cpp's JS path scores/,
    );
    const off = await qbench(["doctor", "--json"], { env: { QBENCH_NATIVE_SCORER: "0" } });
    const offChecks = (JSON.parse(off.stdout.trim()) as typeof report).checks;
    assert.match(
      offChecks.find((c) => c.name === "native scorer")?.detail ?? "",
      /^off: QBENCH_NATIVE_SCORER=0 /,
    );
    const text = await qbench(["doctor"]);
    assert.match(text.stdout, /✓ backend cpu/);
    assert.match(text.stdout, /The CPU path works/);
  });
});
