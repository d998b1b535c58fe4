/**
 * The steps of the Llama forward pass: each kernel with its bind group (made once, at load) and
 * its workgroup counts for a given number of tokens.
 */
import type { FileHandle } from "node:fs/promises";
import type { GgufTensorInfo } from "../../lib/gguf/reader.js";
import type { BufferPool } from "./buffers.js";
import { HEAD_NORM_WG, headNormRopeKernel, normAddKernel } from "./kernels/arch-ops.js";
import {
  attentionKernel,
  SERIAL_ATTENTION_WG,
  serialAttentionKernel,
} from "./kernels/attention.js";
import { EMBED_WG, embedKernel } from "./kernels/embed.js";
import type { KernelSource } from "./kernels/kernel.js";
import {
  type GateSpec,
  matmulGroups,
  matmulKernel,
  qkvKernel,
  swigluKernel,
  tokenGroups,
} from "./kernels/matmul.js";
import type { LayerTensors, LlamaConfig, LlamaModel } from "./model-config.js";
import { matmulInput, type Tap } from "./taps.js";
import {
  type GpuWeight,
  readTensor,
  rowsPerPart,
  uploadRows,
  uploadWeight,
  uploadWeightRows,
  type WeightUploads,
} from "./weights.js";

export const STORAGE = () =>
  GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

/** A kernel in its decode (one token) and prefill (four tokens per weight pass) variants. */
export interface Variants {
  one: KernelSource;
  many: KernelSource;
}

function variants(make: (tb: number) => KernelSource): Variants {
  return { one: make(1), many: make(4) };
}

export interface Step {
  kernel: KernelSource | Variants;
  group: GPUBindGroup;
  /** Workgroups for T tokens (nOut rows for the output stage). */
  size: (rows: number) => [number, number];
}

/** RoPE's per-pair angular speeds as llama.cpp computes them (theta_scale^i / factor · freq_scale). */
export function ropeInvFreq(
  config: Pick<LlamaConfig, "nRot" | "ropeBase" | "ropeFreqScale">,
  factors?: Float32Array,
): Float32Array {
  const out = new Float32Array(config.nRot / 2);
  const thetaScale = Math.fround(config.ropeBase ** (-2 / config.nRot));
  let theta = 1;
  for (let i = 0; i < out.length; i++) {
    out[i] = (theta / (factors?.[i] ?? 1)) * config.ropeFreqScale;
    theta = Math.fround(theta * thetaScale);
  }
  return out;
}

/** What the steps are built against: the graph's buffers and a bind-group maker. */
export interface StepContext {
  pool: BufferPool;
  bind: (kernel: KernelSource, buffers: Record<string, GPUBuffer>) => GPUBindGroup;
  config: LlamaConfig;
  contextSize: number;
  maxBatch: number;
  /** A CPU-emulated adapter, for which attention takes another layout. */
  software: boolean;
  tokenBuffer: GPUBuffer;
  logits: GPUBuffer;
  /** Where the weights are read through: a fresh one, or one over the last build's (swap-weights). */
  uploads: WeightUploads;
}

/** Uploads the weights, allocates KV cache and scratch, and returns the steps in order. */
export async function buildSteps(
  ctx: StepContext,
  model: LlamaModel,
  fh: FileHandle,
  dataOffset: number,
): Promise<{ layerSteps: Step[]; outputSteps: Step[]; taps: Tap[] }> {
  const { pool, bind, contextSize, maxBatch, software, tokenBuffer, logits, uploads } = ctx;
  const c = ctx.config;
  const B = maxBatch;
  const layerSteps: Step[] = [];
  const outputSteps: Step[] = [];
  const taps: Tap[] = [];
  // For the imatrix: the next step multiplies `input` (RMSNorm-ed by `norm`) by the weights `of`
  // (a fused tensor named once), uploaded as `weights`; `prenormed` is that step reading the
  // input normalized already (for an F16 input rounded as ggml's CPU backend rounds it).
  const tap = (
    input: GPUBuffer,
    of: GgufTensorInfo[],
    weights: GpuWeight[],
    norm?: { buffer: GPUBuffer },
    prenormed?: (xn: GPUBuffer) => Step[],
  ) => {
    const unique = of.filter((t, i) => of.findIndex((u) => u.name === t.name) === i);
    const f16 = weights.every((w) => w.type === "F16") ? { prenormed } : undefined;
    const g = norm && { g: norm.buffer, eps: c.eps };
    taps.push(matmulInput(layerSteps.length, input, unique, g, f16));
  };
  // A fused tensor (phi3's attn_qkv, ffn_up) is one upload read by several bindings.
  const upload = (t: Parameters<typeof uploadWeight>[3]) =>
    uploads.get(`w ${t.name}`, [t], () => uploadWeight(pool, fh, dataOffset, t));
  // A weight over the storage binding limit goes up in parts of whole rows (read once, even
  // when fused): `at` is a part's first row within the rows first … first + count asked for.
  const raws = new Map<string, Promise<Uint8Array>>();
  const rowParts = (t: GgufTensorInfo, first: number, count: number, perPart: number) =>
    uploads.get(`rows ${t.name} ${first} ${count} ${perPart}`, [t], async () => {
      let raw = raws.get(t.name);
      if (!raw) {
        raw = readTensor(fh, dataOffset, t);
        raws.set(t.name, raw);
      }
      const bytes = await raw;
      const parts: { w: GpuWeight; at: number }[] = [];
      for (let at = 0; at < count; at += perPart) {
        const rows = Math.min(perPart, count - at);
        parts.push({ w: uploadRows(pool, t, bytes, first + at, rows), at });
      }
      return parts;
    });
  const weightRows = (t: GgufTensorInfo) =>
    uploads.get(`parts ${t.name}`, [t], () => uploadWeightRows(pool, fh, dataOffset, t));
  const fits = (t: GgufTensorInfo) => rowsPerPart(pool, t) >= (t.dims[1] ?? 1);
  /** F32 vectors back to back in one buffer (a norm weight and the biases read with it). */
  const vectors = (label: string, tensors: Parameters<typeof uploadWeight>[3][]) =>
    uploads.get(`vectors ${label}`, tensors, async () => {
      const parts = await Promise.all(tensors.map((t) => readTensor(fh, dataOffset, t)));
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const part of parts) {
        all.set(part, at);
        at += part.length;
      }
      return pool.upload(label, all);
    });
  const qDim = c.nHead * c.headDim;
  const kvDim = c.nHeadKv * c.headDim;
  const x = pool.create("x", B * c.nEmbd * 4, STORAGE());
  const q = pool.create("q", B * qDim * 4, STORAGE());
  const att = pool.create("att", B * qDim * 4, STORAGE());
  const ffh = pool.create("ffn", B * c.nFf * 4, STORAGE());
  const factors = model.ropeFreqs
    ? new Float32Array((await readTensor(fh, dataOffset, model.ropeFreqs)).buffer)
    : undefined;
  const invFreqBuffer = (label: string, ropeBase: number, ropeFreqScale: number) => {
    const freqs = ropeInvFreq({ ...c, ropeBase, ropeFreqScale }, factors);
    const buffer = pool.create(
      label,
      Math.max(16, Math.ceil(freqs.byteLength / 16) * 16),
      GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    );
    pool.device.queue.writeBuffer(buffer, 0, freqs);
    return buffer;
  };
  const invFreq = invFreqBuffer("rope inv_freq", c.ropeBase, c.ropeFreqScale);
  const sameSwa = c.ropeBaseSwa === c.ropeBase && c.ropeFreqScaleSwa === c.ropeFreqScale;
  const invFreqSwa = sameSwa
    ? invFreq
    : invFreqBuffer("rope inv_freq swa", c.ropeBaseSwa, c.ropeFreqScaleSwa);
  // Scratch some architectures need: K before its per-head norm; a block's output before its norm.
  const needsKraw = model.layers.some((l) => l.kNorm);
  const kraw = needsKraw ? pool.create("k raw", B * kvDim * 4, STORAGE()) : undefined;
  const needsBlockOut = model.layers.some((l) => l.postAttnNorm || l.postFfnNorm);
  const blockOut = needsBlockOut ? pool.create("block out", B * c.nEmbd * 4, STORAGE()) : undefined;
  // A large vocabulary's table may exceed one storage binding: parts of whole rows.
  const embedding = await weightRows(model.embedding);
  for (const e of embedding) {
    const embed = embedKernel(e, c.embedScale, embedding.length > 1 ? e.row0 : undefined);
    layerSteps.push({
      kernel: embed,
      group: bind(embed, { tokens: tokenBuffer, e: e.buffer, x }),
      size: (T) => [Math.ceil(c.nEmbd / 4 / EMBED_WG), T],
    });
  }
  // A CPU-emulated adapter pays per workgroup launch and barrier; a GPU wants keys split.
  const attentionFor = (layer: LayerTensors) => {
    const spec = {
      ...c,
      contextSize,
      scale: c.attnScale,
      softcap: c.attnSoftcap,
      window: layer.swa ? c.slidingWindow : 0,
    };
    return software ? serialAttentionKernel(spec) : attentionKernel({ ...spec, workgroup: 32 });
  };
  const attentionGroups = (T: number): [number, number] =>
    software ? [Math.ceil((T * c.nHead) / SERIAL_ATTENTION_WG), 1] : [c.nHead, T];
  const kvBytes = c.nHeadKv * contextSize * c.headDim * 2;
  const byTokens =
    (rows: number) =>
    (T: number): [number, number] => [matmulGroups(rows), tokenGroups(T)];
  for (const [i, layer] of model.layers.entries()) {
    const b = layer.bias;
    const attnNorm = b
      ? { buffer: await vectors(`attn norm+bias ${i}`, [layer.attnNorm, b.q, b.k, b.v]) }
      : await upload(layer.attnNorm);
    const qkvWhole = [layer.q, layer.k, layer.v].every(fits);
    const ffnWhole = fits(layer.gate) && fits(layer.up);
    const w = {
      attnNorm,
      q: qkvWhole ? await upload(layer.q) : undefined,
      k: qkvWhole ? await upload(layer.k) : undefined,
      v: qkvWhole ? await upload(layer.v) : undefined,
      ffnNorm: await upload(layer.ffnNorm),
      gate: ffnWhole ? await upload(layer.gate) : undefined,
      up: ffnWhole ? await upload(layer.up) : undefined,
    };
    const kCache = pool.create(`k cache ${i}`, kvBytes, STORAGE());
    const vCache = pool.create(`v cache ${i}`, kvBytes, STORAGE());
    const { headDim, nRot } = c;
    const layerFreq = layer.swa ? invFreqSwa : invFreq;
    const headNorm = layer.qNorm && layer.kNorm ? [layer.qNorm, layer.kNorm] : undefined;
    const qkvSpec = {
      qRows: qDim,
      kRows: kvDim,
      row0: layer.qkvRow0,
      headDim,
      nRot,
      neox: c.ropeNeox,
      bias: b !== undefined,
      rope: headNorm === undefined,
      contextSize: contextSize,
      eps: c.eps,
    };
    /** A projection into the residual stream: added, or (with a post-norm) normalized first. */
    const residual = async (
      of: GgufTensorInfo,
      input: GPUBuffer,
      postNorm: typeof layer.o | undefined,
    ) => {
      const epilogue = postNorm ? "store" : "add";
      const out = postNorm && blockOut ? blockOut : x;
      const parts = fits(of)
        ? [{ w: await upload(of), at: 0 }]
        : await rowParts(of, 0, c.nEmbd, rowsPerPart(pool, of));
      tap(
        input,
        [of],
        parts.map((p) => p.w),
      );
      // Split at rows: each part's kernel writes its rows of Y.
      for (const { w: weight, at } of parts) {
        const part = parts.length > 1 ? { row0: at, rows: c.nEmbd } : undefined;
        const kernel = variants((tb) => matmulKernel({ w: weight, tb, epilogue, rows: "T", part }));
        layerSteps.push({
          kernel,
          group: bind(kernel.one, { x: input, w: weight.buffer, y: out }),
          size: byTokens(weight.m),
        });
      }
      if (postNorm) {
        const norm = normAddKernel(c.nEmbd, c.eps);
        const g = (await upload(postNorm)).buffer;
        layerSteps.push({ kernel: norm, group: bind(norm, { y: out, g, x }), size: (T) => [T, 1] });
      }
    };
    const qkvGroup = (input: GPUBuffer, wq: GPUBuffer, wk: GPUBuffer, wv: GPUBuffer) => ({
      x: input,
      g: w.attnNorm.buffer,
      wq,
      wk,
      wv,
      qout: q,
      ...(kraw && headNorm ? { kraw } : { kcache: kCache }),
      vcache: vCache,
      inv_freq: layerFreq,
    });
    // The QKV dispatches, reading `input` (normalized already when `prenormed`).
    let qkvSteps: (input: GPUBuffer, prenormed: boolean) => Step[];
    let qkvWeights: GpuWeight[];
    const [wq, wk, wv] = [w.q, w.k, w.v];
    if (wq && wk && wv) {
      qkvWeights = [wq, wk, wv];
      qkvSteps = (input, prenormed) => {
        const qkv = variants((tb) => qkvKernel({ ...qkvSpec, q: wq, k: wk, v: wv, tb, prenormed }));
        return [
          {
            kernel: qkv,
            group: bind(qkv.one, qkvGroup(input, wq.buffer, wk.buffer, wv.buffer)),
            size: byTokens((qDim + 2 * kvDim) / 2),
          },
        ];
      };
    } else {
      // Split at rows (whole heads, so a NEOX pair stays in one part): a dispatch per part over
      // its pairs alone, the part bound as q, k and v.
      const ranges: [GgufTensorInfo, number, number, number][] = [
        [layer.q, layer.qkvRow0[0], qDim, 0],
        [layer.k, layer.qkvRow0[1], kvDim, qDim / 2],
        [layer.v, layer.qkvRow0[2], kvDim, (qDim + kvDim) / 2],
      ];
      const parts: { part: GpuWeight; at: number; pair0: number }[] = [];
      for (const [t, first, count, pair0] of ranges) {
        for (const { w: part, at } of await rowParts(
          t,
          first,
          count,
          rowsPerPart(pool, t, headDim),
        )) {
          parts.push({ part, at, pair0 });
        }
      }
      qkvWeights = parts.map((p) => p.part);
      qkvSteps = (input, prenormed) =>
        parts.map(({ part, at, pair0 }) => {
          const spec = {
            ...qkvSpec,
            q: part,
            k: part,
            v: part,
            row0: [-at, -at, -at] as [number, number, number],
            pairs: { first: pair0 + at / 2, count: part.m / 2 },
            prenormed,
          };
          const qkv = variants((tb) => qkvKernel({ ...spec, tb }));
          return {
            kernel: qkv,
            group: bind(qkv.one, qkvGroup(input, part.buffer, part.buffer, part.buffer)),
            size: byTokens(part.m / 2),
          };
        });
    }
    tap(x, [layer.q, layer.k, layer.v], qkvWeights, w.attnNorm, (xn) => qkvSteps(xn, true));
    layerSteps.push(...qkvSteps(x, false));
    if (kraw && headNorm) {
      const norm = headNormRopeKernel({ ...c, neox: c.ropeNeox, contextSize });
      const norms = await vectors(`q/k norm ${i}`, headNorm);
      layerSteps.push({
        kernel: norm,
        group: bind(norm, { qout: q, kraw, kcache: kCache, norms, inv_freq: layerFreq }),
        size: (T) => [Math.ceil((T * (c.nHead + c.nHeadKv)) / HEAD_NORM_WG), 1],
      });
    }
    const attention = attentionFor(layer);
    layerSteps.push({
      kernel: attention,
      group: bind(attention, { q, kcache: kCache, vcache: vCache, o: att }),
      size: attentionGroups,
    });
    await residual(layer.o, att, layer.postAttnNorm);
    const act = c.ffnAct;
    const ffnGroup = (swiglu: Variants, input: GPUBuffer, wg: GPUBuffer, wu: GPUBuffer) =>
      bind(swiglu.one, { x: input, g: w.ffnNorm.buffer, wg, wu, y: ffh });
    // The gate/up pairs: the whole matrices, or parts split at rows in step.
    let ffnParts: { gate: GpuWeight; up: GpuWeight; spec: GateSpec }[];
    if (w.gate && w.up) {
      const spec = { rows: c.nFf, upRow0: layer.upRow0, act };
      ffnParts = [{ gate: w.gate, up: w.up, spec }];
    } else {
      const perPart = Math.min(rowsPerPart(pool, layer.gate), rowsPerPart(pool, layer.up));
      const gates = await rowParts(layer.gate, 0, c.nFf, perPart);
      const ups = await rowParts(layer.up, layer.upRow0, c.nFf, perPart);
      ffnParts = gates.map(({ w: gate, at }, j) => ({
        gate,
        up: (ups[j] as (typeof ups)[number]).w,
        spec: { rows: gate.m, upRow0: 0, act, part: { row0: at, width: c.nFf } },
      }));
    }
    const ffnSteps = (input: GPUBuffer, prenormed: boolean): Step[] =>
      ffnParts.map(({ gate, up, spec }) => {
        const swiglu = variants((tb) => swigluKernel(gate, up, c.eps, tb, spec, prenormed));
        return {
          kernel: swiglu,
          group: ffnGroup(swiglu, input, gate.buffer, up.buffer),
          size: byTokens(spec.rows),
        };
      });
    const ffnWeights = ffnParts.flatMap((p) => [p.gate, p.up]);
    tap(x, [layer.gate, layer.up], ffnWeights, w.ffnNorm, (xn) => ffnSteps(xn, true));
    layerSteps.push(...ffnSteps(x, false));
    await residual(layer.down, ffh, layer.postFfnNorm);
  }
  const outputNorm = await upload(model.outputNorm);
  const output = model.tiedOutput ? embedding : await weightRows(model.output);
  for (const w of output) {
    const part = output.length > 1 ? { row0: w.row0 ?? 0, rows: c.nVocab } : undefined;
    const project = variants((tb) =>
      matmulKernel({
        w,
        tb,
        epilogue: "store",
        rows: "nOut",
        normEps: c.eps,
        softcap: c.finalSoftcap,
        part,
      }),
    );
    outputSteps.push({
      kernel: project,
      group: bind(project.one, { x, g: outputNorm.buffer, w: w.buffer, y: logits }),
      size: byTokens(w.m),
    });
  }
  return { layerSteps, outputSteps, taps };
}
