/**
 * The kernel variants the architectures beyond Llama use, on this machine's adapter against
 * plain TypeScript (reference.ts): NEOX RoPE with QKV bias from a fused attn_qkv, qwen3's
 * per-head Q/K RMSNorm, Gemma 2's post-norm residual add, GeGLU from a fused ffn_up, and the
 * soft-capped output projection. (Attention's soft-capping and window: kernels.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Gpu } from "../../../runners/webgpu/device.js";
import {
  HEAD_NORM_WG,
  headNormRopeKernel,
  normAddKernel,
} from "../../../runners/webgpu/kernels/arch-ops.js";
import {
  matmulGroups,
  matmulKernel,
  qkvKernel,
  swigluKernel,
} from "../../../runners/webgpu/kernels/matmul.js";
import { ropeInvFreq } from "../../../runners/webgpu/steps.js";
import { repack } from "../../../runners/webgpu/weight-layout.js";
import { gpuOrReason, KernelHarness } from "./gpu-harness.js";
import { randomVector, randomWeight, rng } from "./random-weights.js";
import { fromHalfBits, matmulRef, type RefWeight, rmsNormRef, toHalfBits } from "./reference.js";

const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const harness = () => new KernelHarness(found as Gpu);
const gpuWeight = (h: KernelHarness, w: RefWeight) => h.buffer(repack(w.type, w.raw));
const half = (x: number) => fromHalfBits(toHalfBits(x));

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, abs: number) {
  assert.equal(got.length, want.length, "lengths differ");
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i] as number, want[i] as number];
    const bound = rel * Math.abs(w) + abs;
    if (!(Math.abs(g - w) <= bound)) assert.fail(`element ${i}: got ${g}, want ${w} (±${bound})`);
  }
}

/** NEOX RoPE of one head in place: pairs (i, i + nRot/2), llama.cpp's theta_scale powers. */
function ropeNeoxRef(v: Float32Array, pos: number, nRot: number, base: number): void {
  for (let i = 0; i < nRot / 2; i++) {
    const theta = pos * base ** ((-2 * i) / nRot);
    const [a, b] = [v[i] as number, v[i + nRot / 2] as number];
    v[i] = a * Math.cos(theta) - b * Math.sin(theta);
    v[i + nRot / 2] = a * Math.sin(theta) + b * Math.cos(theta);
  }
}

/** A head in the kernels' pair slots: slot i holds NEOX pair (i, i + nRot/2), then the rest as is. */
function slots(head: Float32Array, nRot: number): Float32Array {
  const out = new Float32Array(head.length);
  for (let i = 0; i < head.length / 2; i++) {
    const [a, b] = i < nRot / 2 ? [i, i + nRot / 2] : [2 * i, 2 * i + 1];
    out[2 * i] = head[a] as number;
    out[2 * i + 1] = head[b] as number;
  }
  return out;
}

/** Per head of `heads`: `f` in place on each token's head vector. */
function perHead(
  m: Float32Array,
  T: number,
  heads: number,
  hd: number,
  f: (v: Float32Array, t: number) => void,
) {
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < heads; i++)
      f(m.subarray((t * heads + i) * hd, (t * heads + i + 1) * hd), t);
  }
  return m;
}

describe("WebGPU kernels of the other architectures vs a plain TypeScript reference", {
  skip,
}, () => {
  const [nHead, nHeadKv, hd, ctx, T, pos0, K] = [4, 2, 8, 16, 3, 5, 64];
  const qDim = nHead * hd;
  const kvDim = nHeadKv * hd;
  const eps = 1e-6;
  const base = 1_000_000;

  /** Runs the QKV kernel (and, for qwen3, the head norm) and returns Q, K and V per token. */
  async function runQkv(options: { nRot: number; bias: boolean; headNorm: boolean; seed: number }) {
    const h = harness();
    const random = rng(options.seed);
    const fused = randomWeight("Q8_0", K, qDim + 2 * kvDim, random);
    const raw = randomVector(T * K, random, 3);
    const gain = randomVector(K, random);
    const bias = randomVector(qDim + 2 * kvDim, random, 0.5);
    const norms = randomVector(2 * hd, random);
    const freqs = ropeInvFreq({ nRot: options.nRot, ropeBase: base, ropeFreqScale: 1 });
    const q = h.zeros(T * qDim * 4);
    const kc = h.zeros(nHeadKv * ctx * hd * 2);
    const vc = h.zeros(nHeadKv * ctx * hd * 2);
    const kraw = h.zeros(T * kvDim * 4);
    const w = gpuWeight(h, fused);
    const g = h.buffer(options.bias ? Float32Array.from([...gain, ...bias]) : gain);
    const kernel = qkvKernel({
      q: fused,
      k: fused,
      v: fused,
      qRows: qDim,
      kRows: kvDim,
      row0: [0, qDim, qDim + kvDim],
      headDim: hd,
      nRot: options.nRot,
      neox: true,
      bias: options.bias,
      rope: !options.headNorm,
      contextSize: ctx,
      eps,
      tb: 4,
    });
    const invFreq = h.uniform(freqs);
    const params = { T, pos0, nOut: 0, tOut0: 0 };
    const buffers = {
      x: h.buffer(raw),
      g,
      wq: w,
      wk: w,
      wv: w,
      qout: q,
      kcache: kc,
      kraw,
      vcache: vc,
      inv_freq: invFreq,
    };
    h.run(kernel, params, buffers, [matmulGroups((qDim + 2 * kvDim) / 2), 1]);
    if (options.headNorm) {
      const spec = {
        nHead,
        nHeadKv,
        headDim: hd,
        nRot: options.nRot,
        neox: true,
        contextSize: ctx,
        eps,
      };
      const norm = headNormRopeKernel(spec);
      const groups = Math.ceil((T * (nHead + nHeadKv)) / HEAD_NORM_WG);
      h.run(
        norm,
        params,
        { qout: q, kraw, kcache: kc, norms: h.buffer(norms), inv_freq: invFreq },
        [groups, 1],
      );
    }
    // The reference: the fused projection, split, biased, head-normed, NEOX-rotated.
    const all = matmulRef(fused, rmsNormRef(raw, gain, eps, T), T);
    const part = (from: number, n: number) =>
      Float32Array.from({ length: T * n }, (_, i) => {
        const [t, r] = [Math.floor(i / n), i % n];
        return (
          (all[t * (qDim + 2 * kvDim) + from + r] as number) +
          (options.bias ? (bias[from + r] as number) : 0)
        );
      });
    const finish = (v: Float32Array, t: number, w0: number) => {
      if (options.headNorm) {
        const normed = rmsNormRef(v, norms.subarray(w0, w0 + hd), eps, 1);
        v.set(normed);
      }
      ropeNeoxRef(v, pos0 + t, options.nRot, base);
      v.set(slots(v, options.nRot));
    };
    const wantQ = perHead(part(0, qDim), T, nHead, hd, (v, t) => finish(v, t, 0));
    const wantK = perHead(part(qDim, kvDim), T, nHeadKv, hd, (v, t) => finish(v, t, hd));
    const wantV = part(qDim + kvDim, kvDim);
    assertClose(await h.readF32(q, T * qDim), wantQ, 1e-4, 1e-5);
    const halves = (buf: ArrayBuffer) => Array.from(new Uint16Array(buf), fromHalfBits);
    const kAll = halves(await h.read(kc, nHeadKv * ctx * hd * 2));
    const vAll = halves(await h.read(vc, nHeadKv * ctx * hd * 2));
    for (let t = 0; t < T; t++) {
      for (let gi = 0; gi < nHeadKv; gi++) {
        const at = (gi * ctx + pos0 + t) * hd;
        const from = (t * nHeadKv + gi) * hd;
        assertClose(kAll.slice(at, at + hd), wantK.slice(from, from + hd), 2e-3, 1e-4);
        assertClose(vAll.slice(at, at + hd), wantV.slice(from, from + hd), 2e-3, 1e-4);
      }
    }
  }

  it("fused attn_qkv with Q/K/V bias and NEOX RoPE (4 of 8 dims rotated) into the f16 cache", async () => {
    await runQkv({ nRot: 4, bias: true, headNorm: false, seed: 31 });
  });

  it("qwen3: raw Q/K, then per-head RMSNorm and NEOX RoPE, K into the f16 cache", async () => {
    await runQkv({ nRot: 8, bias: false, headNorm: true, seed: 32 });
  });

  it("Gemma 2's post-norm: x += RMSNorm(y)·g per token", async () => {
    const h = harness();
    const random = rng(33);
    const n = 320;
    const [x0, y, g] = [
      randomVector(T * n, random),
      randomVector(T * n, random, 4),
      randomVector(n, random),
    ];
    const x = h.buffer(x0);
    h.run(
      normAddKernel(n, eps),
      { T, pos0: 0, nOut: 0, tOut0: 0 },
      { y: h.buffer(y), g: h.buffer(g), x },
      [T, 1],
    );
    const normed = rmsNormRef(y, g, eps, T);
    assertClose(
      await h.readF32(x, T * n),
      x0.map((v, i) => v + (normed[i] as number)),
      1e-5,
      1e-6,
    );
  });

  it("GeGLU from a fused ffn_up (gate rows, then up): ggml's f16 gelu table · up", async () => {
    const h = harness();
    const random = rng(34);
    const ffn = 96;
    const up = randomWeight("F16", K, 2 * ffn, random);
    const raw = randomVector(T * K, random, 3);
    const gain = randomVector(K, random);
    const y = h.zeros(T * ffn * 4);
    const w = gpuWeight(h, up);
    const kernel = swigluKernel(up, up, eps, 4, { rows: ffn, upRow0: ffn, act: "gelu" });
    const buffers = { x: h.buffer(raw), g: h.buffer(gain), wg: w, wu: w, y };
    h.run(kernel, { T, pos0: 0, nOut: 0, tOut0: 0 }, buffers, [matmulGroups(ffn), 1]);
    const all = matmulRef(up, rmsNormRef(raw, gain, eps, T), T);
    const gelu = (x: number) => {
      if (x <= -10) return 0;
      if (x >= 10) return x;
      const v = half(x);
      return half(0.5 * v * (1 + Math.tanh(0.7978845608028654 * v * (1 + 0.044715 * v * v))));
    };
    const want = Float32Array.from({ length: T * ffn }, (_, i) => {
      const [t, r] = [Math.floor(i / ffn), i % ffn];
      return gelu(all[t * 2 * ffn + r] as number) * (all[t * 2 * ffn + ffn + r] as number);
    });
    // The gate's f16 rounding can flip on the last bit of the dot product: one f16 ulp.
    assertClose(await h.readF32(y, T * ffn), want, 2e-3, 1e-5);
  });

  it("soft-capped output projection: c·tanh(y / c)", async () => {
    const h = harness();
    const random = rng(35);
    const w = randomWeight("F32", K, 40, random);
    const x = randomVector(T * K, random, 6);
    const y = h.zeros(T * 40 * 4);
    const kernel = matmulKernel({ w, tb: 1, epilogue: "store", rows: "T", softcap: 0.5 });
    h.run(
      kernel,
      { T, pos0: 0, nOut: 0, tOut0: 0 },
      { x: h.buffer(x), w: gpuWeight(h, w), y },
      [1, 1],
    );
    const want = matmulRef(w, x, T).map((v) => 0.5 * Math.tanh(v / 0.5));
    assertClose(await h.readF32(y, T * 40), want, 1e-5, 1e-6);
  });
});
