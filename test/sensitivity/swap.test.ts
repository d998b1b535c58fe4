/**
 * qbench sensitivity on the WebGPU runner measures each group's variant by swapping its tensors
 * into the runner already loaded (swap-weights), not by a new runner: the same figures, to the
 * bit, as a fresh load per variant, in both modes.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runnerSpecFor } from "../../src/cli/runner-spec.js";
import { perplexityText } from "../../src/scoring/perplexity.js";
import { groupTensors } from "../../src/sensitivity/groups.js";
import {
  type GroupResult,
  measureBaseline,
  measureGroups,
  type SensitivitySetup,
} from "../../src/sensitivity/sensitivity.js";
import { gpuOrReason } from "../runners/webgpu/gpu-harness.js";
import { model, ROOT } from "../support/paths.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const Q4_0 = 2;

describe("sensitivity on WebGPU: each variant swapped into one runner (stories260K F16, by layer)", {
  skip,
}, () => {
  const setup: SensitivitySetup = {
    model: model("stories260K-f16.gguf"),
    text: perplexityText(readFileSync(join(ROOT, "test/fixtures/ppl/stories.txt"), "utf8")),
    ctx: 128,
    chunks: 3,
    topK: 32,
    kld: "top-k",
    spec: runnerSpecFor({ backend: "webgpu", ctx: 128, threads: undefined }),
  };
  const figures = (results: GroupResult[]) =>
    results.map((r) => ({ group: r.group.name, mode: r.mode, figures: r.figures }));

  for (const mode of ["only", "except"] as const) {
    it(`--mode ${mode}: the figures of a reload per variant, the runner started once`, async () => {
      const baseline = await measureBaseline(setup);
      const groups = groupTensors(baseline.tensors, "layer");
      assert.ok(groups.length >= 4, `${groups.length} groups`);
      const swapped = await measureGroups(baseline, groups, Q4_0, mode);
      const reloaded = await measureGroups(
        { ...baseline, setup: { ...setup, reload: true } },
        groups,
        Q4_0,
        mode,
      );
      assert.deepEqual(figures(swapped), figures(reloaded));
      // The first variant is loaded; every later one swapped in, by its tensors that changed type.
      assert.equal(swapped[0]?.swapped, undefined);
      for (const r of swapped.slice(1)) {
        assert.ok((r.swapped ?? 0) > 0, `${r.group.name}: swapped ${r.swapped}`);
      }
      assert.ok(reloaded.every((r) => r.swapped === undefined));
      // Groups do differ (the comparison is not of equal nothings).
      assert.ok(new Set(swapped.map((r) => r.figures.meanKld)).size > 1);
    });
  }
});
