import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  IMATRIX_WG,
  normRoundKernel,
  roundF16Kernel,
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

/**
 * x as the nearest f16 (ties to the even mantissa), back in f32: F16C's vcvtps2ph with
 * rounding mode 0, which ggml's CPU backend uses. Computed on the value (not on its bits) in
 * f64, where every step here is exact.
 */
function roundF16(x: number): number {
  const a = Math.abs(x);
  if (a === 0) return x;
  // The spacing of halves at |x|: 2⁻²⁴ below 2⁻¹⁴ (subnormals), else 2^(exponent − 10).
  const quantum = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
  const q = a / quantum;
  const floor = Math.floor(q);
  const rest = q - floor;
  const n = rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  const r = n * quantum;
  return Math.sign(x) * (r > 65504 ? Number.POSITIVE_INFINITY : r);
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

describe("imatrix f16 input kernels vs F16C's round to nearest even", { skip }, () => {
  const cols = 12;
  // Ties both ways, carries into the exponent, subnormal ties, the largest half and overflow.
  const cases = [
    0,
    -0,
    1,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    -(1 + 3 * 2 ** -11),
    2 - 2 ** -12,
    2 ** -25,
    3 * 2 ** -25,
    -5 * 2 ** -26,
    65504,
    65519,
    65520,
    -70000,
    0.1,
    -3.25159,
    1e-5,
    2 ** -14 - 2 ** -26,
    1234.5678,
    7e-8,
    0.33333334,
    -0.0009765625,
    100.03125,
    2 ** -24,
  ];
  const T = cases.length / cols;
  const x = Float32Array.from(cases);

  it("round to f16 in place: every value as F16C rounds it, bit for bit", async () => {
    const h = new KernelHarness(found as Exclude<typeof found, string>);
    const xb = h.buffer(x);
    const errors = await h.errorsDuring(() => {
      h.run(roundF16Kernel(cols), { T, pos0: 0, nOut: 0, tOut0: 0 }, { x: xb }, [1, T]);
    });
    assert.equal(errors, undefined);
    const got = await h.readF32(xb, x.length);
    for (const [i, v] of x.entries()) {
      assert.ok(Object.is(got[i], roundF16(v)), `${v}: ${got[i]} vs ${roundF16(v)}`);
    }
  });

  it("RMSNorm-ed input rounded to f16: f16((x · scale) · g) per element, bit for bit", async () => {
    const h = new KernelHarness(found as Exclude<typeof found, string>);
    const T = 37;
    const cols = 172;
    let seed = 11;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31 - 0.5;
    };
    const x = Float32Array.from({ length: T * cols }, () => 4 * random());
    const g = Float32Array.from({ length: cols }, () => 1 + random());
    const params = { T, pos0: 0, nOut: 0, tOut0: 0 };
    const [xb, scale, xn] = [h.buffer(x), h.zeros(T * 4), h.zeros(T * cols * 4)];
    const errors = await h.errorsDuring(() => {
      h.run(rowScaleKernel(cols, 1e-5), params, { x: xb, scale }, [Math.ceil(T / IMATRIX_WG), 1]);
      h.run(normRoundKernel(cols), params, { x: xb, scale, g: h.buffer(g), xn }, [
        Math.ceil(cols / IMATRIX_WG),
        T,
      ]);
    });
    assert.equal(errors, undefined);
    const scales = await h.readF32(scale, T);
    const got = await h.readF32(xn, T * cols);
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < cols; j++) {
        const i = t * cols + j;
        const want = roundF16(fr(fr((x[i] as number) * (scales[t] as number)) * (g[j] as number)));
        assert.ok(Object.is(got[i], want), `t ${t}, column ${j}: ${got[i]} vs ${want}`);
      }
    }
  });
});
