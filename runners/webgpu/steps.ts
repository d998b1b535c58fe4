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
  matmulGroups,
  matmulKernel,
  qkvKernel,
  swigluKernel,
  tokenGroups,
} from "./kernels/matmul.js";
import type { LayerTensors, LlamaConfig, LlamaModel } from "./model-config.js";
import { matmulInput, type Tap } from "./taps.js";
import { type GpuWeight, readTensor, uploadWeight, uploadWeightRows } from "./weights.js";

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
}

/** Uploads the weights, allocates KV cache and scratch, and returns the steps in order. */
export async function buildSteps(
  ctx: StepContext,
  model: LlamaModel,
  fh: FileHandle,
  dataOffset: number,
): Promise<{ layerSteps: Step[]; outputSteps: Step[]; taps: Tap[] }> {
  const { pool, bind, contextSize, maxBatch, software, tokenBuffer, logits } = ctx;
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
    prenormed?: (xn: GPUBuffer) => Step,
  ) => {
    const unique = of.filter((t, i) => of.findIndex((u) => u.name === t.name) === i);
    const f16 = weights.every((w) => w.type === "F16") ? { prenormed } : undefined;
    const g = norm && { g: norm.buffer, eps: c.eps };
    taps.push(matmulInput(layerSteps.length, input, unique, g, f16));
  };
  // A fused tensor (phi3's attn_qkv, ffn_up) is one upload read by several bindings.
  const uploaded = new Map<string, Promise<GpuWeight>>();
  const upload = (t: Parameters<typeof uploadWeight>[3]) => {
    let weight = uploaded.get(t.name);
    if (!weight) {
      weight = uploadWeight(pool, fh, dataOffset, t);
      uploaded.set(t.name, weight);
    }
    return weight;
  };
  /** F32 vectors back to back in one buffer (a norm weight and the biases read with it). */
  const vectors = async (label: string, tensors: Parameters<typeof uploadWeight>[3][]) => {
    const parts = await Promise.all(tensors.map((t) => readTensor(fh, dataOffset, t)));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
    }
    return pool.upload(label, all);
  };
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
  const embedding = await uploadWeightRows(pool, fh, dataOffset, model.embedding);
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
    const w = {
      attnNorm,
      q: await upload(layer.q),
      k: await upload(layer.k),
      v: await upload(layer.v),
      o: await upload(layer.o),
      ffnNorm: await upload(layer.ffnNorm),
      gate: await upload(layer.gate),
      up: await upload(layer.up),
      down: await upload(layer.down),
    };
    const kCache = pool.create(`k cache ${i}`, kvBytes, STORAGE());
    const vCache = pool.create(`v cache ${i}`, kvBytes, STORAGE());
    const { headDim, nRot } = c;
    const layerFreq = layer.swa ? invFreqSwa : invFreq;
    const headNorm = layer.qNorm && layer.kNorm ? [layer.qNorm, layer.kNorm] : undefined;
    const qkvSpec = {
      q: w.q,
      k: w.k,
      v: w.v,
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
    const qkv = variants((tb) => qkvKernel({ ...qkvSpec, tb }));
    const qkvBuffers = (input: GPUBuffer) => ({
      x: input,
      g: w.attnNorm.buffer,
      wq: w.q.buffer,
      wk: w.k.buffer,
      wv: w.v.buffer,
      qout: q,
      ...(kraw && headNorm ? { kraw } : { kcache: kCache }),
      vcache: vCache,
      inv_freq: layerFreq,
    });
    /** A projection into the residual stream: added, or (with a post-norm) normalized first. */
    const residual = async (
      weight: GpuWeight,
      of: GgufTensorInfo,
      input: GPUBuffer,
      postNorm: typeof layer.o | undefined,
    ) => {
      const epilogue = postNorm ? "store" : "add";
      const kernel = variants((tb) => matmulKernel({ w: weight, tb, epilogue, rows: "T" }));
      const out = postNorm && blockOut ? blockOut : x;
      tap(input, [of], [weight]);
      layerSteps.push({
        kernel,
        group: bind(kernel.one, { x: input, w: weight.buffer, y: out }),
        size: byTokens(c.nEmbd),
      });
      if (postNorm) {
        const norm = normAddKernel(c.nEmbd, c.eps);
        const g = (await upload(postNorm)).buffer;
        layerSteps.push({ kernel: norm, group: bind(norm, { y: out, g, x }), size: (T) => [T, 1] });
      }
    };
    const gateSpec = { rows: c.nFf, upRow0: layer.upRow0, act: c.ffnAct };
    const swiglu = variants((tb) => swigluKernel(w.gate, w.up, c.eps, tb, gateSpec));
    const qkvSize = byTokens((qDim + 2 * kvDim) / 2);
    tap(x, [layer.q, layer.k, layer.v], [w.q, w.k, w.v], w.attnNorm, (xn) => {
      const kernel = variants((tb) => qkvKernel({ ...qkvSpec, tb, prenormed: true }));
      return { kernel, group: bind(kernel.one, qkvBuffers(xn)), size: qkvSize };
    });
    layerSteps.push({ kernel: qkv, group: bind(qkv.one, qkvBuffers(x)), size: qkvSize });
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
    await residual(w.o, layer.o, att, layer.postAttnNorm);
    const swigluBuffers = (input: GPUBuffer) => ({
      x: input,
      g: w.ffnNorm.buffer,
      wg: w.gate.buffer,
      wu: w.up.buffer,
      y: ffh,
    });
    tap(x, [layer.gate, layer.up], [w.gate, w.up], w.ffnNorm, (xn) => {
      const kernel = variants((tb) => swigluKernel(w.gate, w.up, c.eps, tb, gateSpec, true));
      return { kernel, group: bind(kernel.one, swigluBuffers(xn)), size: byTokens(c.nFf) };
    });
    layerSteps.push({
      kernel: swiglu,
      group: bind(swiglu.one, swigluBuffers(x)),
      size: byTokens(c.nFf),
    });
    await residual(w.down, layer.down, ffh, layer.postFfnNorm);
  }
  const outputNorm = await upload(model.outputNorm);
  const output = model.tiedOutput
    ? embedding
    : await uploadWeightRows(pool, fh, dataOffset, model.output);
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
