/**
 * The steps of the Llama forward pass: each kernel with its bind group (made once, at load) and
 * its workgroup counts for a given number of tokens.
 */
import type { FileHandle } from "node:fs/promises";
import type { GgufTensorInfo } from "../../lib/gguf/reader.js";
import type { BufferPool } from "./buffers.js";
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
import type { LlamaConfig, LlamaModel } from "./model-config.js";
import { matmulInput, type Tap } from "./taps.js";
import { type GpuWeight, readTensor, uploadWeight } from "./weights.js";

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
  // For the imatrix: step `skip` after the next one multiplies `input` (RMSNorm-ed by `norm`) by `of`.
  const tap = (input: GPUBuffer, of: GgufTensorInfo[], norm?: GpuWeight, skip = 0) =>
    taps.push(
      matmulInput(layerSteps.length + skip, input, of, norm && { g: norm.buffer, eps: c.eps }),
    );
  const upload = (t: Parameters<typeof uploadWeight>[3]) => uploadWeight(pool, fh, dataOffset, t);
  const qDim = c.nHead * c.headDim;
  const x = pool.create("x", B * c.nEmbd * 4, STORAGE());
  const q = pool.create("q", B * qDim * 4, STORAGE());
  const att = pool.create("att", B * qDim * 4, STORAGE());
  const ffh = pool.create("ffn", B * c.nFf * 4, STORAGE());
  const factors = model.ropeFreqs
    ? new Float32Array((await readTensor(fh, dataOffset, model.ropeFreqs)).buffer)
    : undefined;
  const freqs = ropeInvFreq(c, factors);
  const invFreq = pool.create(
    "rope inv_freq",
    Math.max(16, Math.ceil(freqs.byteLength / 16) * 16),
    GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  );
  pool.device.queue.writeBuffer(invFreq, 0, freqs);
  const embedding = await upload(model.embedding);
  const embed = embedKernel(embedding);
  layerSteps.push({
    kernel: embed,
    group: bind(embed, { tokens: tokenBuffer, e: embedding.buffer, x }),
    size: (T) => [Math.ceil(c.nEmbd / 4 / EMBED_WG), T],
  });
  // A CPU-emulated adapter pays per workgroup launch and barrier; a GPU wants keys split.
  const attention = software
    ? serialAttentionKernel({ ...c, contextSize: contextSize })
    : attentionKernel({ ...c, contextSize: contextSize, workgroup: 32 });
  const attentionGroups = (T: number): [number, number] =>
    software ? [Math.ceil((T * c.nHead) / SERIAL_ATTENTION_WG), 1] : [c.nHead, T];
  const kvBytes = c.nHeadKv * contextSize * c.headDim * 2;
  const byTokens =
    (rows: number) =>
    (T: number): [number, number] => [matmulGroups(rows), tokenGroups(T)];
  for (const [i, layer] of model.layers.entries()) {
    const w = {
      attnNorm: await upload(layer.attnNorm),
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
    const qkvSpec = {
      q: w.q,
      k: w.k,
      v: w.v,
      headDim,
      nRot,
      contextSize: contextSize,
      eps: c.eps,
    };
    const qkv = variants((tb) => qkvKernel({ ...qkvSpec, tb }));
    const residual = (weight: GpuWeight) =>
      variants((tb) => matmulKernel({ w: weight, tb, epilogue: "add", rows: "T" }));
    const wo = residual(w.o);
    const down = residual(w.down);
    const swiglu = variants((tb) => swigluKernel(w.gate, w.up, c.eps, tb));
    tap(x, [layer.q, layer.k, layer.v], w.attnNorm);
    layerSteps.push({
      kernel: qkv,
      group: bind(qkv.one, {
        x,
        g: w.attnNorm.buffer,
        wq: w.q.buffer,
        wk: w.k.buffer,
        wv: w.v.buffer,
        qout: q,
        kcache: kCache,
        vcache: vCache,
        inv_freq: invFreq,
      }),
      size: byTokens((w.q.m + 2 * w.k.m) / 2),
    });
    layerSteps.push({
      kernel: attention,
      group: bind(attention, { q, kcache: kCache, vcache: vCache, o: att }),
      size: attentionGroups,
    });
    tap(att, [layer.o]);
    tap(x, [layer.gate, layer.up], w.ffnNorm, 1);
    layerSteps.push(
      {
        kernel: wo,
        group: bind(wo.one, { x: att, w: w.o.buffer, y: x }),
        size: byTokens(c.nEmbd),
      },
      {
        kernel: swiglu,
        group: bind(swiglu.one, {
          x,
          g: w.ffnNorm.buffer,
          wg: w.gate.buffer,
          wu: w.up.buffer,
          y: ffh,
        }),
        size: byTokens(c.nFf),
      },
    );
    tap(ffh, [layer.down]);
    layerSteps.push({
      kernel: down,
      group: bind(down.one, { x: ffh, w: w.down.buffer, y: x }),
      size: byTokens(c.nEmbd),
    });
  }
  const outputNorm = await upload(model.outputNorm);
  const output = model.tiedOutput ? embedding : await upload(model.output);
  const project = variants((tb) =>
    matmulKernel({ w: output, tb, epilogue: "store", rows: "nOut", normEps: c.eps }),
  );
  outputSteps.push({
    kernel: project,
    group: bind(project.one, {
      x,
      g: outputNorm.buffer,
      w: output.buffer,
      y: logits,
    }),
    size: byTokens(c.nVocab),
  });
  return { layerSteps, outputSteps, taps };
}
