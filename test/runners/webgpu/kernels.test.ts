import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Gpu } from "../../../runners/webgpu/device.js";
import {
  attentionKernel,
  SERIAL_ATTENTION_WG,
  serialAttentionKernel,
} from "../../../runners/webgpu/kernels/attention.js";
import { EMBED_WG, embedKernel } from "../../../runners/webgpu/kernels/embed.js";
import { argmaxKernel, SELECT_CAP, scoreKernel } from "../../../runners/webgpu/kernels/logits.js";
import {
  matmulGroups,
  matmulKernel,
  qkvKernel,
  swigluKernel,
  tokenGroups,
} from "../../../runners/webgpu/kernels/matmul.js";
import { ropeInvFreq } from "../../../runners/webgpu/steps.js";
import { repack, rowMultiple } from "../../../runners/webgpu/weight-layout.js";
import { gpuOrReason, KernelHarness } from "./gpu-harness.js";
import { randomVector, randomWeight, rng } from "./random-weights.js";
import {
  attentionRef,
  dequantizeRow,
  fromHalfBits,
  logSoftmaxRef,
  matmulRef,
  type RefType,
  type RefWeight,
  rmsNormRef,
  ropeRef,
  toHalfBits,
} from "./reference.js";

const TYPES: RefType[] = [
  "F32",
  "F16",
  "BF16",
  "Q8_0",
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
  "Q2_K",
  "Q3_K",
  "Q4_K",
  "Q5_K",
  "Q6_K",
  "IQ4_NL",
  "IQ4_XS",
];
/** Types whose elements are scale·level + offset: the GPU may fuse that into one fma, 1 ulp apart. */
const OFFSET_TYPES = new Set<RefType>(["Q4_1", "Q5_1", "Q2_K", "Q4_K", "Q5_K"]);
/** A row length of at least `k` that the type's blocks divide. */
const rowLength = (type: RefType, k: number) =>
  Math.ceil(k / rowMultiple(type)) * rowMultiple(type);
const found = await gpuOrReason();
const skip = typeof found === "string" ? found : false;
const harness = () => new KernelHarness(found as Gpu);

/** |got − want| ≤ rel·scale + abs, element by element, naming the first that is not. */
function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: { rel?: number; abs?: number; scale?: ArrayLike<number> },
): void {
  assert.equal(got.length, want.length, "lengths differ");
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    const scale = tol.scale ? (tol.scale[i] as number) : Math.abs(w);
    const bound = (tol.rel ?? 0) * scale + (tol.abs ?? 0);
    if (!(Math.abs(g - w) <= bound)) {
      assert.fail(`element ${i}: got ${g}, want ${w} (±${bound})`);
    }
  }
}

/** Σ|w||x| per output, the scale a dot product's rounding error grows with. */
function absMatmul(w: RefWeight, x: Float32Array, T: number): Float32Array {
  const absW = Float32Array.from({ length: w.m * w.k }, (_, i) =>
    Math.abs(dequantizeRow(w, Math.floor(i / w.k))[i % w.k] as number),
  );
  const y = new Float32Array(T * w.m);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < w.m; r++) {
      let s = 0;
      for (let i = 0; i < w.k; i++)
        s += (absW[r * w.k + i] as number) * Math.abs(x[t * w.k + i] as number);
      y[t * w.m + r] = s;
    }
  }
  return y;
}

const gpuWeight = (h: KernelHarness, w: RefWeight) => h.buffer(repack(w.type, w.raw));

describe("WebGPU kernels on this machine's adapter vs a plain TypeScript reference", {
  skip,
}, () => {
  for (const type of TYPES) {
    it(`matmul ${type}: decode and prefill variants, stored and added, T and nOut rows`, async () => {
      const h = harness();
      const random = rng(11);
      const w = randomWeight(type, rowLength(type, 96), 72, random);
      const T = 5;
      const x = randomVector(T * w.k, random);
      const want = matmulRef(w, x, T);
      const scale = absMatmul(w, x, T);
      for (const tb of [1, 4]) {
        const y = h.zeros(T * w.m * 4);
        const kernel = matmulKernel({ w, tb, epilogue: "store", rows: "T" });
        const params = { T, pos0: 0, nOut: 0, tOut0: 0 };
        const buffers = { x: h.buffer(x), w: gpuWeight(h, w), y };
        const error = await h.errorsDuring(() =>
          h.run(kernel, params, buffers, [matmulGroups(w.m), tokenGroups(T)]),
        );
        assert.equal(error, undefined);
        assertClose(await h.readF32(y, T * w.m), want, { rel: 1e-5, scale, abs: 1e-6 });
      }
      const base = randomVector(T * w.m, random);
      const y = h.buffer(base);
      const add = matmulKernel({ w, tb: 4, epilogue: "add", rows: "nOut" });
      const nOut = 3;
      h.run(add, { T, pos0: 0, nOut, tOut0: 0 }, { x: h.buffer(x), w: gpuWeight(h, w), y }, [
        matmulGroups(w.m),
        tokenGroups(nOut),
      ]);
      const added = base.map((b, i) => (i < nOut * w.m ? b + (want[i] as number) : b));
      assertClose(await h.readF32(y, T * w.m), added, {
        rel: 1e-5,
        scale: scale.map((s) => s + 1),
        abs: 1e-6,
      });
    });
  }

  it("RMSNorm fused into SwiGLU (Q8_0 gate, F16 up): silu(n·Wg)·(n·Wu), n = RMSNorm(x)·g", async () => {
    const h = harness();
    const random = rng(5);
    const gate = randomWeight("Q8_0", 64, 40, random);
    const up = randomWeight("F16", 64, 40, random);
    const T = 3;
    const eps = 1e-5;
    const x = randomVector(T * 64, random, 3);
    const gain = randomVector(64, random);
    const n = rmsNormRef(x, gain, eps, T);
    const g = matmulRef(gate, n, T);
    const u = matmulRef(up, n, T);
    const want = g.map((gi, i) => (gi / (1 + Math.exp(-gi))) * (u[i] as number));
    const y = h.zeros(T * 40 * 4);
    const buffers = {
      x: h.buffer(x),
      g: h.buffer(gain),
      wg: gpuWeight(h, gate),
      wu: gpuWeight(h, up),
      y,
    };
    h.run(swigluKernel(gate, up, eps, 4), { T, pos0: 0, nOut: 0, tOut0: 0 }, buffers, [1, 1]);
    assertClose(await h.readF32(y, T * 40), want, { rel: 1e-4, abs: 1e-5 });
  });

  for (const type of TYPES) {
    it(`RMSNorm fused into the output projection (${type}): rows from tOut0, packed from row 0`, async () => {
      const h = harness();
      const random = rng(3);
      const w = randomWeight(type, rowLength(type, 96), 70, random);
      const T = 4;
      const eps = 1e-5;
      const x = randomVector(T * w.k, random, 3);
      const gain = randomVector(w.k, random);
      const [tOut0, nOut] = [1, 2];
      const n = rmsNormRef(x.subarray(tOut0 * w.k, (tOut0 + nOut) * w.k), gain, eps, nOut);
      const want = matmulRef(w, n, nOut);
      const y = h.zeros(nOut * w.m * 4);
      const kernel = matmulKernel({ w, tb: 4, epilogue: "store", rows: "nOut", normEps: eps });
      const buffers = { x: h.buffer(x), g: h.buffer(gain), w: gpuWeight(h, w), y };
      h.run(kernel, { T, pos0: 0, nOut, tOut0 }, buffers, [matmulGroups(w.m), 1]);
      assertClose(await h.readF32(y, nOut * w.m), want, {
        rel: 1e-5,
        scale: absMatmul(w, n, nOut),
        abs: 1e-6,
      });
    });
  }

  for (const nRot of [8, 4]) {
    it(`RMSNorm + QKV projection + RoPE (normal mode, ${nRot} of 8 dims rotated) into the f16 KV cache`, async () => {
      const h = harness();
      const random = rng(7 + nRot);
      const [nHead, nHeadKv, hd, ctx, T, pos0] = [4, 2, 8, 16, 3, 5];
      const wq = randomWeight("Q4_0", 64, nHead * hd, random);
      const wk = randomWeight("F32", 64, nHeadKv * hd, random);
      const wv = randomWeight("Q8_0", 64, nHeadKv * hd, random);
      const eps = 1e-5;
      const raw = randomVector(T * 64, random, 3);
      const gain = randomVector(64, random);
      const x = rmsNormRef(raw, gain, eps, T);
      const base = 10000;
      const freqs = ropeInvFreq({ nRot, ropeBase: base, ropeFreqScale: 1 });
      const q = h.zeros(T * nHead * hd * 4);
      const kc = h.zeros(nHeadKv * ctx * hd * 2);
      const vc = h.zeros(nHeadKv * ctx * hd * 2);
      const spec = { q: wq, k: wk, v: wv, headDim: hd, nRot, contextSize: ctx, eps, tb: 4 };
      const kernel = qkvKernel(spec);
      const buffers = {
        x: h.buffer(raw),
        g: h.buffer(gain),
        wq: gpuWeight(h, wq),
        wk: gpuWeight(h, wk),
        wv: gpuWeight(h, wv),
        qout: q,
        kcache: kc,
        vcache: vc,
        inv_freq: h.uniform(freqs),
      };
      const pairs = (nHead * hd + 2 * nHeadKv * hd) / 2;
      h.run(kernel, { T, pos0, nOut: 0, tOut0: 0 }, buffers, [matmulGroups(pairs), 1]);
      const rope = (m: Float32Array, heads: number) => {
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < heads; i++) {
            const head = m.subarray((t * heads + i) * hd, (t * heads + i + 1) * hd);
            ropeRef(head, pos0 + t, nRot, base);
          }
        }
        return m;
      };
      const wantQ = rope(matmulRef(wq, x, T), nHead);
      assertClose(await h.readF32(q, T * nHead * hd), wantQ, { rel: 1e-4, abs: 1e-5 });
      const wantK = rope(matmulRef(wk, x, T), nHeadKv);
      const wantV = matmulRef(wv, x, T);
      const halves = (buf: ArrayBuffer) => Array.from(new Uint16Array(buf), fromHalfBits);
      const kAll = halves(await h.read(kc, nHeadKv * ctx * hd * 2));
      const vAll = halves(await h.read(vc, nHeadKv * ctx * hd * 2));
      for (let t = 0; t < T; t++) {
        for (let g = 0; g < nHeadKv; g++) {
          const at = (g * ctx + pos0 + t) * hd;
          const from = (t * nHeadKv + g) * hd;
          const tol = { rel: 2e-3, abs: 1e-4 };
          assertClose(kAll.slice(at, at + hd), wantK.slice(from, from + hd), tol);
          assertClose(vAll.slice(at, at + hd), wantV.slice(from, from + hd), tol);
        }
      }
      assert.equal(
        kAll.slice(0, pos0 * hd).every((v) => v === 0),
        true,
        "positions before pos0 untouched",
      );
    });
  }

  // Gemma 2's variant: another score factor, soft-capped scores, a sliding window of 20 keys.
  const GEMMA = { scale: 0.3, softcap: 0.5, window: 20 };
  for (const [hd, layout, gemma] of [
    [8, "serial", undefined],
    [64, "serial", undefined],
    [8, 8, undefined],
    [64, 32, undefined],
    [64, "serial", GEMMA],
    [64, 32, GEMMA],
  ] as const) {
    it(`causal grouped-query attention over the f16 cache (head dim ${hd}, ${layout === "serial" ? "one invocation per head and token" : `${layout} invocations per head`}${gemma ? "; scale, soft-capping, sliding window" : ""})`, async () => {
      const h = harness();
      const random = rng(hd);
      const [nHead, nHeadKv, ctx, T, pos0] = [4, 2, 80, 3, 67];
      const keys = Array.from({ length: nHeadKv }, () =>
        Array.from({ length: pos0 + T }, () => randomVector(hd, random, 2)),
      );
      const values = Array.from({ length: nHeadKv }, () =>
        Array.from({ length: pos0 + T }, () => randomVector(hd, random)),
      );
      const cache = (vs: Float32Array[][]) => {
        const bits = new Uint16Array(nHeadKv * ctx * hd);
        vs.forEach((head, g) => {
          head.forEach((v, j) => {
            bits.set(Array.from(v, toHalfBits), (g * ctx + j) * hd);
          });
        });
        return h.buffer(bits);
      };
      const q = randomVector(T * nHead * hd, random, 2);
      const o = h.zeros(T * nHead * hd * 4);
      const spec = { nHead, nHeadKv, headDim: hd, contextSize: ctx, ...gemma };
      const kernel =
        layout === "serial"
          ? serialAttentionKernel(spec)
          : attentionKernel({ ...spec, workgroup: layout });
      const groups: [number, number] =
        layout === "serial" ? [Math.ceil((T * nHead) / SERIAL_ATTENTION_WG), 1] : [nHead, T];
      const buffers = { q: h.buffer(q), kcache: cache(keys), vcache: cache(values), o };
      h.run(kernel, { T, pos0, nOut: 0, tOut0: 0 }, buffers, groups);
      const got = await h.readF32(o, T * nHead * hd);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < nHead; i++) {
          const g = Math.floor(i / (nHead / nHeadKv));
          const qh = q.slice((t * nHead + i) * hd, (t * nHead + i + 1) * hd);
          const want = attentionRef(qh, keys[g] ?? [], values[g] ?? [], pos0 + t, gemma);
          const at = (t * nHead + i) * hd;
          assertClose(got.slice(at, at + hd), want, { rel: 1e-4, abs: 1e-5 });
        }
      }
    });
  }

  for (const type of TYPES) {
    const exact = !OFFSET_TYPES.has(type);
    it(`embedding lookup dequantizes ${type} rows ${exact ? "exactly" : "to the last bit of scale·level + offset"}`, async () => {
      const h = harness();
      const k = rowLength(type, 64);
      const e = randomWeight(type, k, 10, rng(2));
      const tokens = Uint32Array.from([3, 0, 9]);
      const x = h.zeros(3 * k * 4);
      const buffers = { tokens: h.buffer(tokens), e: gpuWeight(h, e), x };
      h.run(embedKernel(e), { T: 3, pos0: 0, nOut: 0, tOut0: 0 }, buffers, [
        Math.ceil(k / 4 / EMBED_WG),
        3,
      ]);
      const want = Float32Array.from([3, 0, 9].flatMap((id) => Array.from(dequantizeRow(e, id))));
      const got = await h.readF32(x, 3 * k);
      if (exact) assert.deepEqual(got, want);
      else {
        // One rounding of d·q − m instead of two: within an ulp of the row's largest element.
        const largest = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        assertClose(got, want, { abs: largest * 2 ** -23 });
      }
    });
  }

  it("softmax scoring: log-probabilities of target ids and the top K, ties to the lower id", async () => {
    const h = harness();
    const V = 300;
    const rows = 3;
    const logits = randomVector(rows * V, rng(9), 5);
    logits[V + 17] = 9;
    logits[V + 4] = 9;
    const S = 2;
    const K = 5;
    const targets = Uint32Array.from([1, 299, 4, 17, 0, 0]);
    const out = h.zeros(rows * (S + 2 * K) * 4);
    const buffers = { logits: h.buffer(logits), targets: h.buffer(targets), out };
    h.run(scoreKernel(V), { T: rows, pos0: 0, nOut: rows, tOut0: 0, S, K }, buffers, [rows, 1]);
    const got = await h.readF32(out, rows * (S + 2 * K));
    for (let r = 0; r < rows; r++) {
      const want = logSoftmaxRef(logits.subarray(r * V, (r + 1) * V));
      const row = got.subarray(r * (S + 2 * K), (r + 1) * (S + 2 * K));
      const ids = [targets[r * S], targets[r * S + 1]] as number[];
      assertClose(
        row.subarray(0, S),
        ids.map((id) => want[id] as number),
        { abs: 1e-5 },
      );
      const order = Array.from(want.keys()).sort(
        (a, b) => (want[b] as number) - (want[a] as number) || a - b,
      );
      const top = Array.from({ length: K }, (_, k) => row[S + 2 * k]);
      assert.deepEqual(top, order.slice(0, K));
      const topLp = Array.from({ length: K }, (_, k) => row[S + 2 * k + 1] as number);
      assertClose(
        topLp,
        order.slice(0, K).map((id) => want[id] as number),
        { abs: 1e-5 },
      );
    }
    assert.equal(got[S + 2 * K + S], 4, "the tie at logit 9 goes to id 4 before id 17");
  });

  it("top K by radix select: any K, ties across the K-th, −inf and ±0, and K passes past the cap", async () => {
    const h = harness();
    const V = 2000;
    const random = randomVector(V, rng(21), 4);
    const rows: Float32Array[] = [
      random,
      // Nine levels: every K-th entry sits among a run of equal logits.
      Float32Array.from(random, (x) => Math.round(x)),
      // Half the vocabulary masked, with signed zeros among the rest.
      Float32Array.from(random, (x, i) =>
        i % 2 ? Number.NEGATIVE_INFINITY : i % 7 ? x : i % 3 ? 0 : -0,
      ),
      new Float32Array(V).fill(1.5),
    ];
    const logits = new Float32Array(rows.length * V);
    for (const [r, row] of rows.entries()) logits.set(row, r * V);
    const targets = new Uint32Array(rows.length);
    const kernel = scoreKernel(V);
    for (const K of [1, 3, 64, 500, 1000, SELECT_CAP, SELECT_CAP + 76]) {
      const stride = 1 + 2 * K;
      const out = h.zeros(rows.length * stride * 4);
      const buffers = { logits: h.buffer(logits), targets: h.buffer(targets), out };
      const params = { T: rows.length, pos0: 0, nOut: rows.length, tOut0: 0, S: 1, K };
      h.run(kernel, params, buffers, [rows.length, 1]);
      const got = await h.readF32(out, rows.length * stride);
      for (const [r, row] of rows.entries()) {
        // The K passes past the cap skip −inf entries, as they always have.
        if (K > SELECT_CAP && r === 2) continue;
        const want = logSoftmaxRef(row);
        const order = Array.from(want.keys()).sort(
          (a, b) => (row[b] as number) - (row[a] as number) || a - b,
        );
        const at = (k: number) => got[r * stride + 1 + 2 * k] as number;
        const lp = (k: number) => got[r * stride + 2 + 2 * k] as number;
        const ids = Array.from({ length: K }, (_, k) => at(k));
        assert.deepEqual(ids, order.slice(0, K), `row ${r}, K ${K}: ids in order`);
        for (let k = 0; k < K; k++) {
          const w = want[order[k] as number] as number;
          const ok = w === Number.NEGATIVE_INFINITY ? lp(k) === w : Math.abs(lp(k) - w) <= 1e-5;
          assert.ok(ok, `row ${r}, K ${K}, entry ${k}: log p ${lp(k)}, want ${w}`);
        }
      }
    }
  });

  it("greedy argmax reads the last logits row and breaks ties toward the lower id", async () => {
    const h = harness();
    const V = 130;
    const logits = randomVector(2 * V, rng(4));
    logits[V + 77] = 3;
    logits[V + 129] = 3;
    const out = h.zeros(4);
    h.run(
      argmaxKernel(V),
      { T: 2, pos0: 0, nOut: 2, tOut0: 0 },
      { logits: h.buffer(logits), out },
      [1, 1],
    );
    assert.equal(new Uint32Array(await h.read(out, 4))[0], 77);
  });
});
