import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  IMATRIX_WG,
  rowScaleKernel,
  sumSquaresKernel,
} from "../../../runners/webgpu/kernels/imatrix.js";
import { gpuOrReason, KernelHarness } from "./gpu-harness.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const fr = Math.fround;

/** The f32 sums llama-imatrix would add for these rows: (x · rms scale) · g when normed, squared, in token order. */
function reference(
  x: Float32Array,
  T: number,
  cols: number,
  start: Float32Array,
  norm?: { g: Float32Array; eps: number },
) {
  const sums = Float32Array.from(start);
  for (let t = 0; t < T; t++) {
    let scale = 1;
    if (norm) {
      let s = 0;
      for (let j = 0; j < cols; j++) s = fr(s + fr((x[t * cols + j] as number) ** 2));
      scale = fr(1 / fr(Math.sqrt(fr(fr(s / cols) + norm.eps))));
    }
    for (let j = 0; j < cols; j++) {
      const xj = x[t * cols + j] as number;
      const v = norm ? fr(fr(xj * scale) * (norm.g[j] as number)) : xj;
      sums[j] = fr((sums[j] as number) + fr(v * v));
    }
  }
  return sums;
}

describe("imatrix kernels on this machine's adapter vs an f32 reference", { skip }, () => {
  const T = 37;
  const cols = 172; // stories260K's ffn_down: not a multiple of 4 or of the workgroup
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  const x = Float32Array.from({ length: T * cols }, () => 4 * random());
  const g = Float32Array.from({ length: cols }, () => 1 + random());
  const start = Float32Array.from({ length: cols }, (_, j) => j / 8);

  for (const normed of [false, true]) {
    it(`${normed ? "RMSNorm-ed input (x · scale) · g" : "plain input"}: Σ x² added to the running sums, within 1e-6`, async () => {
      const h = new KernelHarness(found as Exclude<typeof found, string>);
      const params = { T, pos0: 0, nOut: 0, tOut0: 0 };
      const xb = h.buffer(x);
      const sums = h.buffer(start);
      const scale = h.zeros(T * 4);
      const eps = 1e-5;
      const errors = await h.errorsDuring(() => {
        if (normed) {
          h.run(rowScaleKernel(cols, eps), params, { x: xb, scale }, [
            Math.ceil(T / IMATRIX_WG),
            1,
          ]);
        }
        const buffers: Record<string, GPUBuffer> = normed
          ? { x: xb, scale, g: h.buffer(g), sums }
          : { x: xb, sums };
        h.run(sumSquaresKernel(cols, normed), params, buffers, [Math.ceil(cols / IMATRIX_WG), 1]);
      });
      assert.equal(errors, undefined);
      const got = await h.readF32(sums, cols);
      const want = reference(x, T, cols, start, normed ? { g, eps } : undefined);
      for (let j = 0; j < cols; j++) {
        const rel = Math.abs((got[j] as number) - (want[j] as number)) / (want[j] as number);
        assert.ok(rel <= 1e-6, `column ${j}: ${got[j]} vs ${want[j]}`);
      }
    });
  }
});
