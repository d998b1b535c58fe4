import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench, tempDir } from "../support/cli.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

describe("a variant's KV cache precision is checked before anything runs", () => {
  it("refuses a quantized cache whose block does not divide the model's heads (exit 2, the line named)", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 2);
    const plan = writePlan(
      dir,
      [{ name: "f16" }, { name: "kvq8", extra: "    kvCache: { k: q8_0, v: q8_0 }" }],
      [suite],
    );
    const result = await qbench(["run", plan, "--db", join(dir, "q.db")]);
    assert.equal(result.exitCode, 2, result.stderr);
    assert.match(
      result.stderr,
      /plan\.yaml:9: kvCache: a q8_0 K cache needs a head size divisible by 32; layer 0 of this llama model has 8/,
    );
    assert.equal(existsSync(join(dir, "q.db")), false, "nothing ran, nothing stored");
  });

  it("refuses a KV cache precision on a runner that cannot set it", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 2);
    const plan = writePlan(
      dir,
      [
        { name: "f16" },
        { name: "gpu", extra: "    backend: webgpu\n    kvCache: { k: f16, v: q8_0 }" },
      ],
      [suite],
    );
    const result = await qbench(["run", plan, "--db", join(dir, "q.db")]);
    assert.equal(result.exitCode, 2, result.stderr);
    assert.match(
      result.stderr,
      /kvCache: the KV cache's precision is set by the llama-cpp runner only; this variant runs on webgpu/,
    );
  });

  it("refuses an unknown cache type, listing the allowed ones", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 2);
    const plan = writePlan(dir, [{ name: "f16", extra: "    kvCache: { k: q3_k }" }], [suite]);
    const result = await qbench(["run", plan, "--db", join(dir, "q.db")]);
    assert.equal(result.exitCode, 2, result.stderr);
    assert.match(result.stderr, /kvCache\.k: .*f16.*q8_0/);
  });
});
