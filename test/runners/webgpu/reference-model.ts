/** The whole Llama forward pass in plain TypeScript over reference.ts, for small GGUF models. */
import { open } from "node:fs/promises";
import type { GgufTensorInfo } from "../../../lib/gguf/reader.js";
import { readGguf } from "../../../lib/gguf/reader.js";
import { describeModel, type LlamaConfig } from "../../../runners/webgpu/model-config.js";
import { readTensor } from "../../../runners/webgpu/weights.js";
import {
  attentionRef,
  dequantizeRow,
  matmulRef,
  type RefType,
  type RefWeight,
  rmsNormRef,
  ropeRef,
} from "./reference.js";

interface RefLayer {
  attnNorm: Float32Array;
  q: RefWeight;
  k: RefWeight;
  v: RefWeight;
  o: RefWeight;
  ffnNorm: Float32Array;
  gate: RefWeight;
  up: RefWeight;
  down: RefWeight;
}

export class RefLlama {
  readonly config: LlamaConfig;
  private readonly embedding: RefWeight;
  private readonly outputNorm: Float32Array;
  private readonly output: RefWeight;
  private readonly layers: RefLayer[];

  private constructor(
    config: LlamaConfig,
    embedding: RefWeight,
    outputNorm: Float32Array,
    output: RefWeight,
    layers: RefLayer[],
  ) {
    this.config = config;
    this.embedding = embedding;
    this.outputNorm = outputNorm;
    this.output = output;
    this.layers = layers;
  }

  static async open(path: string): Promise<RefLlama> {
    const file = await readGguf(path);
    const model = describeModel(file);
    const fh = await open(path, "r");
    try {
      const weight = async (t: GgufTensorInfo): Promise<RefWeight> => ({
        type: t.typeName as RefType,
        k: t.dims[0] as number,
        m: t.dims[1] ?? 1,
        raw: await readTensor(fh, file.dataOffset, t),
      });
      const vector = async (t: GgufTensorInfo) => dequantizeRow(await weight(t), 0);
      const layers: RefLayer[] = [];
      for (const l of model.layers) {
        layers.push({
          attnNorm: await vector(l.attnNorm),
          q: await weight(l.q),
          k: await weight(l.k),
          v: await weight(l.v),
          o: await weight(l.o),
          ffnNorm: await vector(l.ffnNorm),
          gate: await weight(l.gate),
          up: await weight(l.up),
          down: await weight(l.down),
        });
      }
      return new RefLlama(
        model.config,
        await weight(model.embedding),
        await vector(model.outputNorm),
        await weight(model.output),
        layers,
      );
    } finally {
      await fh.close();
    }
  }

  /** Logits after every token of `tokens` (positions 0…), one Float32Array per position. */
  forward(tokens: number[]): Float32Array[] {
    const c = this.config;
    const T = tokens.length;
    const hd = c.headDim;
    const x = new Float32Array(T * c.nEmbd);
    tokens.forEach((id, t) => {
      x.set(dequantizeRow(this.embedding, id), t * c.nEmbd);
    });
    for (const layer of this.layers) {
      const xn = rmsNormRef(x, layer.attnNorm, c.eps, T);
      const q = matmulRef(layer.q, xn, T);
      const k = matmulRef(layer.k, xn, T);
      const v = matmulRef(layer.v, xn, T);
      const att = new Float32Array(T * c.nHead * hd);
      const keys: Float32Array[][] = Array.from({ length: c.nHeadKv }, () => []);
      const values: Float32Array[][] = Array.from({ length: c.nHeadKv }, () => []);
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < c.nHeadKv; h++) {
          const kh = k.slice((t * c.nHeadKv + h) * hd, (t * c.nHeadKv + h + 1) * hd);
          ropeRef(kh, t, c.nRot, c.ropeBase);
          keys[h]?.push(kh);
          values[h]?.push(v.slice((t * c.nHeadKv + h) * hd, (t * c.nHeadKv + h + 1) * hd));
        }
      }
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < c.nHead; h++) {
          const qh = q.slice((t * c.nHead + h) * hd, (t * c.nHead + h + 1) * hd);
          ropeRef(qh, t, c.nRot, c.ropeBase);
          const g = Math.floor(h / (c.nHead / c.nHeadKv));
          att.set(attentionRef(qh, keys[g] ?? [], values[g] ?? [], t), (t * c.nHead + h) * hd);
        }
      }
      const o = matmulRef(layer.o, att, T);
      for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (o[i] as number);
      const fn = rmsNormRef(x, layer.ffnNorm, c.eps, T);
      const gate = matmulRef(layer.gate, fn, T);
      const up = matmulRef(layer.up, fn, T);
      const h = gate.map((g, i) => (g / (1 + Math.exp(-g))) * (up[i] as number));
      const down = matmulRef(layer.down, h, T);
      for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (down[i] as number);
    }
    const out = matmulRef(this.output, rmsNormRef(x, this.outputNorm, c.eps, T), T);
    return Array.from({ length: T }, (_, t) => out.slice(t * c.nVocab, (t + 1) * c.nVocab));
  }
}
