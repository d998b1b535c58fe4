/**
 * The Llama forward pass on the GPU: weights, KV cache and scratch allocated once at load, bind
 * groups built once, and per call one uniform write, one command buffer and one small readback
 * (the greedy token, or per-row log-probabilities and top-K). The logits buffer holds as many
 * rows as the adapter's largest storage binding allows; more output rows go through it in turns.
 */
import type { FileHandle } from "node:fs/promises";
import { BufferLimitError, BufferPool, Readback } from "./buffers.js";
import type { Gpu } from "./device.js";
import {
  dispatch,
  encodeParams,
  KernelCache,
  type KernelSource,
  PARAMS_BYTES,
  type PassParams,
} from "./kernels/kernel.js";
import { argmaxKernel, scoreKernel } from "./kernels/logits.js";
import type { LlamaConfig, LlamaModel } from "./model-config.js";
import { buildSteps, STORAGE, type Step } from "./steps.js";
import type { Tap } from "./taps.js";
import { WeightUploads } from "./weights.js";

export interface ScoreRequest {
  /** Row-major [nOut][S] token ids whose log-probabilities are wanted. */
  targets: Uint32Array;
  S: number;
  K: number;
}

export class LlamaGraph {
  readonly pool: BufferPool;
  readonly config: LlamaConfig;
  readonly contextSize: number;
  /** Most tokens one forward call takes; longer inputs go through in chunks. */
  readonly maxBatch: number;
  /** Output rows the logits buffer holds (≤ maxBatch): the vocabulary × 4 bytes each. */
  readonly logitRows: number;
  /** The adapter's largest storage binding, in bytes. */
  private readonly bindingLimit: number;
  private readonly device: GPUDevice;
  /** A CPU-emulated adapter, for which some kernels take other workgroup sizes. */
  private readonly software: boolean;
  private readonly kernels: KernelCache;
  private readonly readback: Readback;
  private readonly paramsBuffer: GPUBuffer;
  private readonly paramsData = new Uint32Array(PARAMS_BYTES / 4);
  private readonly tokenBuffer: GPUBuffer;
  private readonly logits: GPUBuffer;
  private readonly argmaxOut: GPUBuffer;
  private readonly argmaxStep: Step;
  readonly layerSteps: Step[] = [];
  /** Each matmul's input, for an importance matrix (imatrix.ts). */
  readonly taps: Tap[] = [];
  /** The layer steps with the imatrix kernels between them during a collection's passes; else unset. */
  tapped: Step[] | undefined;
  private readonly outputSteps: Step[] = [];
  /** The weights the last build read, for a swap to take what did not change. */
  private uploads = new WeightUploads();
  /** The buffers the last build made or took: weights, KV cache, scratch. */
  private built = new Set<GPUBuffer>();
  private scoreStep: { step: Step; targets: GPUBuffer; out: GPUBuffer } | undefined;

  private constructor(
    gpu: Gpu,
    config: LlamaConfig,
    contextSize: number,
    maxBatch: number,
    bindingCap?: number,
  ) {
    this.device = gpu.device;
    this.software = gpu.software;
    this.pool = new BufferPool(gpu.device, bindingCap);
    this.kernels = new KernelCache(gpu.device);
    this.readback = new Readback(this.pool);
    this.config = config;
    this.contextSize = contextSize;
    this.maxBatch = maxBatch;
    this.bindingLimit = this.pool.bindingLimit;
    this.logitRows = Math.min(maxBatch, Math.floor(this.bindingLimit / (config.nVocab * 4)));
    if (this.logitRows < 1) {
      throw new BufferLimitError(
        `one row of logits (${config.nVocab} × 4 bytes) exceeds this adapter's ${this.bindingLimit}-byte storage binding limit (maxStorageBufferBindingSize)`,
      );
    }
    this.paramsBuffer = this.pool.create(
      "params",
      PARAMS_BYTES,
      GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    );
    this.tokenBuffer = this.pool.create("tokens", maxBatch * 4, STORAGE());
    this.logits = this.pool.create("logits", this.logitRows * config.nVocab * 4, STORAGE());
    this.argmaxOut = this.pool.create("argmax", 4, STORAGE());
    this.argmaxStep = {
      kernel: argmaxKernel(config.nVocab),
      group: this.bindGroup(argmaxKernel(config.nVocab), {
        logits: this.logits,
        out: this.argmaxOut,
      }),
      size: () => [1, 1],
    };
  }

  /** Uploads the model's weights and allocates the KV cache and scratch for `maxBatch` tokens. */
  static async load(
    gpu: Gpu,
    model: LlamaModel,
    fh: FileHandle,
    dataOffset: number,
    options: {
      contextSize: number;
      maxBatch: number;
      /** Plan weights and logits for a smaller storage binding than the adapter's (tests). */
      bindingCap?: number;
    },
  ): Promise<LlamaGraph> {
    const { contextSize, maxBatch, bindingCap } = options;
    const graph = new LlamaGraph(gpu, model.config, contextSize, maxBatch, bindingCap);
    try {
      await graph.scoped(() => graph.build(model, fh, dataOffset, new WeightUploads()));
    } catch (error) {
      graph.dispose();
      throw error;
    }
    return graph;
  }

  /**
   * The same model's weights from another file (swap-weights): the tensors `changed` names are
   * read from it and uploaded, every other weight stays in its buffer, the steps are built again
   * (their kernels follow the new types) and the KV cache and scratch are allocated afresh. The
   * caller checks that the file holds the same model. On failure the graph is as it was.
   */
  async swap(
    model: LlamaModel,
    fh: FileHandle,
    dataOffset: number,
    changed: ReadonlySet<string>,
  ): Promise<{ read: Set<string> }> {
    const old = {
      uploads: this.uploads,
      built: this.built,
      steps: [[...this.layerSteps], [...this.outputSteps], [...this.taps]] as const,
    };
    const uploads = new WeightUploads(old.uploads, changed);
    const before = this.pool.buffers();
    try {
      await this.scoped(() => this.build(model, fh, dataOffset, uploads));
    } catch (error) {
      // Back to the old build: drop what this one made, keep what it took.
      for (const b of this.pool.buffers()) if (!before.has(b)) this.pool.destroy(b);
      this.uploads = old.uploads;
      this.built = old.built;
      this.layerSteps.splice(0, Infinity, ...old.steps[0]);
      this.outputSteps.splice(0, Infinity, ...old.steps[1]);
      this.taps.splice(0, Infinity, ...old.steps[2]);
      throw error;
    }
    for (const b of old.built) if (!this.built.has(b)) this.pool.destroy(b);
    return { read: uploads.readTensors };
  }

  /** Runs `work` inside out-of-memory and validation error scopes; throws what either caught. */
  private async scoped(work: () => Promise<void>): Promise<void> {
    this.device.pushErrorScope("validation");
    this.device.pushErrorScope("out-of-memory");
    let failed: unknown;
    try {
      await work();
    } catch (error) {
      failed = error;
    }
    const oom = await this.device.popErrorScope();
    const invalid = await this.device.popErrorScope();
    if (failed !== undefined) throw failed;
    if (oom || invalid) {
      const error = (oom ?? invalid) as GPUError;
      throw Object.assign(new Error(error.message), { oom: oom !== null });
    }
  }

  bindGroup(kernel: KernelSource, buffers: Record<string, GPUBuffer>): GPUBindGroup {
    return this.kernels.bind(kernel, { P: this.paramsBuffer, ...buffers });
  }

  private async build(
    model: LlamaModel,
    fh: FileHandle,
    dataOffset: number,
    uploads: WeightUploads,
  ): Promise<void> {
    const before = this.pool.buffers();
    const { layerSteps, outputSteps, taps } = await buildSteps(
      {
        pool: this.pool,
        bind: (kernel, buffers) => this.bindGroup(kernel, buffers),
        config: this.config,
        contextSize: this.contextSize,
        maxBatch: this.maxBatch,
        software: this.software,
        tokenBuffer: this.tokenBuffer,
        logits: this.logits,
        uploads,
      },
      model,
      fh,
      dataOffset,
    );
    const built = await uploads.reusedBuffers();
    for (const b of this.pool.buffers()) if (!before.has(b)) built.add(b);
    this.uploads = uploads;
    this.built = built;
    this.tapped = undefined;
    this.layerSteps.splice(0, Infinity, ...layerSteps);
    this.taps.splice(0, Infinity, ...taps);
    this.outputSteps.splice(0, Infinity, ...outputSteps);
    // Compile every variant now, so the first request does not pay for it.
    for (const step of [...this.layerSteps, ...this.outputSteps, this.argmaxStep]) {
      const k = step.kernel;
      if ("one" in k) {
        this.kernels.compile(k.one);
        this.kernels.compile(k.many);
      } else this.kernels.compile(k);
    }
    this.ensureScore(1, 1);
  }

  /** The score kernel's buffers, grown (only) when a request needs more room. */
  private ensureScore(rowsTimesS: number, rowsTimesStride: number) {
    const current = this.scoreStep;
    if (
      current &&
      current.targets.size >= rowsTimesS * 4 &&
      current.out.size >= rowsTimesStride * 4
    ) {
      return current;
    }
    if (current) {
      this.pool.destroy(current.targets);
      this.pool.destroy(current.out);
    }
    const kernel = scoreKernel(this.config.nVocab);
    const targets = this.pool.create("score targets", rowsTimesS * 4, STORAGE());
    const out = this.pool.create("scores", rowsTimesStride * 4, STORAGE());
    this.scoreStep = {
      step: {
        kernel,
        group: this.bindGroup(kernel, { logits: this.logits, targets, out }),
        size: (n) => [n, 1],
      },
      targets,
      out,
    };
    return this.scoreStep;
  }

  private encode(pass: GPUComputePassEncoder, steps: Step[], rows: number): void {
    for (const step of steps) {
      const k = step.kernel;
      const source = "one" in k ? (rows === 1 ? k.one : k.many) : k;
      const [x, y] = step.size(rows);
      dispatch(pass, this.kernels.compile(source), step.group, x, y);
    }
  }

  private validate(tokens: ArrayLike<number>, pos0: number): void {
    if (tokens.length < 1 || tokens.length > this.maxBatch) {
      throw new RangeError(`a forward call takes 1…${this.maxBatch} tokens, got ${tokens.length}`);
    }
    if (pos0 + tokens.length > this.contextSize) {
      throw new RangeError(
        `positions up to ${pos0 + tokens.length} exceed the context of ${this.contextSize}`,
      );
    }
  }

  /**
   * One command buffer: the layers over `tokens` (unless `layers` is false: the output stage
   * again over the activations already there), the output stage for params.nOut rows, `tail`.
   */
  private submit(
    tokens: ArrayLike<number>,
    params: PassParams,
    tail: (pass: GPUComputePassEncoder, encoder: GPUCommandEncoder) => void,
    layers = true,
  ): void {
    if (layers) {
      this.validate(tokens, params.pos0);
      this.device.queue.writeBuffer(this.tokenBuffer, 0, Uint32Array.from(tokens));
    }
    if (params.nOut > this.logitRows) {
      throw new RangeError(`${params.nOut} output rows; the logits buffer holds ${this.logitRows}`);
    }
    this.device.queue.writeBuffer(this.paramsBuffer, 0, encodeParams(params, this.paramsData));
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    if (layers) this.encode(pass, this.tapped ?? this.layerSteps, tokens.length);
    if (params.nOut > 0) this.encode(pass, this.outputSteps, params.nOut);
    tail(pass, encoder);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Runs `tokens` at positions pos0… into the KV cache; returns the greedy next token. */
  async nextToken(tokens: ArrayLike<number>, pos0: number): Promise<number> {
    const target = this.readback.target(4);
    this.submit(
      tokens,
      { T: tokens.length, pos0, nOut: 1, tOut0: tokens.length - 1 },
      (pass, encoder) => {
        this.encode(pass, [this.argmaxStep], 1);
        pass.end();
        encoder.copyBufferToBuffer(this.argmaxOut, 0, target, 0, 4);
      },
    );
    return new Uint32Array(await this.readback.read(4))[0] as number;
  }

  /** Resolves once the GPU has finished everything submitted so far. */
  finished(): Promise<void> {
    return this.device.queue.onSubmittedWorkDone();
  }

  /** Runs `tokens` at positions pos0… into the KV cache and returns nothing (context only). */
  prefill(tokens: ArrayLike<number>, pos0: number): void {
    this.submit(tokens, { T: tokens.length, pos0, nOut: 0, tOut0: 0 }, (pass) => pass.end());
  }

  /**
   * Runs `tokens` at positions pos0… and, for the nOut positions from tOut0 on, returns per row
   * S log-probabilities of `request.targets` followed by K (id, log-probability) pairs. Rows go
   * through the logits buffer `logitRows` at a time (fewer when the scores of that many rows
   * would exceed the storage binding limit); only the scores come back to the CPU.
   */
  async score(
    tokens: ArrayLike<number>,
    pos0: number,
    tOut0: number,
    nOut: number,
    request: ScoreRequest,
  ): Promise<Float32Array> {
    const { S, K } = request;
    const stride = S + 2 * K;
    if (nOut === 0) {
      this.prefill(tokens, pos0);
      return new Float32Array(0);
    }
    const perTurn = Math.min(this.logitRows, Math.floor(this.bindingLimit / (4 * stride)));
    if (perTurn < 1) {
      throw new BufferLimitError(
        `the scores of one row (${stride} floats) exceed this adapter's ${this.bindingLimit}-byte storage binding limit`,
      );
    }
    const result = new Float32Array(nOut * stride);
    for (let r0 = 0; r0 < nOut; r0 += perTurn) {
      const rows = Math.min(perTurn, nOut - r0);
      const score = this.ensureScore(Math.max(1, rows * S), Math.max(1, rows * stride));
      if (S > 0) {
        this.device.queue.writeBuffer(score.targets, 0, request.targets, r0 * S, rows * S);
      }
      const bytes = rows * stride * 4;
      const target = this.readback.target(Math.max(4, bytes));
      const params = { T: tokens.length, pos0, nOut: rows, tOut0: tOut0 + r0, S, K };
      this.submit(
        tokens,
        params,
        (pass, encoder) => {
          this.encode(pass, [score.step], rows);
          pass.end();
          if (bytes > 0) encoder.copyBufferToBuffer(score.out, 0, target, 0, bytes);
        },
        r0 === 0,
      );
      const turn = new Float32Array(await this.readback.read(Math.max(4, bytes)), 0, rows * stride);
      result.set(turn, r0 * stride);
    }
    return result;
  }

  dispose(): void {
    this.pool.destroyAll();
  }
}
