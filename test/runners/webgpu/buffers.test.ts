import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferLimitError, BufferPool } from "../../../runners/webgpu/buffers.js";
import type { Gpu } from "../../../runners/webgpu/device.js";
import { gpuOrReason } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;

describe("GPU buffers against this adapter's limits", { skip }, () => {
  it("a storage buffer over maxStorageBufferBindingSize is refused by name before Dawn sees it", () => {
    const { device } = found as Gpu;
    const pool = new BufferPool(device);
    const { maxStorageBufferBindingSize, maxBufferSize } = device.limits;
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    assert.equal(pool.bindingLimit, Math.min(maxStorageBufferBindingSize, maxBufferSize));
    assert.throws(
      () => pool.create("logits", pool.bindingLimit + 4, storage),
      (e: unknown) =>
        e instanceof BufferLimitError &&
        /buffer "logits" \(\d+ bytes\) exceeds this adapter's \d+-byte max(StorageBufferBinding|Buffer)Size/.test(
          e.message,
        ),
    );
    assert.equal(pool.liveBytes, 0);
    const ok = pool.create("at the limit", 1024, storage);
    assert.equal(pool.liveBytes, 1024);
    pool.destroy(ok);
    assert.equal(pool.liveBytes, 0);
  });
});
