/**
 * The protocol's `collectImatrix`: what llama-imatrix accumulates, on the GPU. The graph's
 * steps mark each matmul input (a Tap); a collection's passes run the layer steps with a
 * sum-of-squares kernel before each tapped matmul, into one f32 buffer per input, read back
 * once when the caller asks. Every other pass (evaluate between calls too): the plain steps.
 */
import type {
  CollectImatrixParams,
  CollectImatrixResult,
  ImatrixMatrix,
} from "../../src/runner-client/protocol.js";
import { RunnerError } from "../shared/serve.js";
import type { LlamaGraph } from "./graph.js";
import {
  IMATRIX_WG,
  normRoundKernel,
  roundF16Kernel,
  rowScaleKernel,
  sumSquaresKernel,
} from "./kernels/imatrix.js";
import { checkTokens, type Session } from "./session.js";
import { STORAGE, type Step } from "./steps.js";

/**
 * One open collection: a running sum per tap, and the tokens each has seen. With `f16Inputs`
 * the F16 matmuls take their input rounded to f16 (after it is summed), as ggml's CPU backend
 * converts it, so the activations downstream carry llama.cpp's roundings (docs/imatrix.md).
 */
export class ImatrixCollector {
  private readonly sums: GPUBuffer[] = [];
  private readonly graph: LlamaGraph;
  /** The per-token RMSNorm scales of the tapped input being summed; the normalized input. */
  private readonly scratch: GPUBuffer[];
  readonly f16Inputs: boolean;
  /** The layer steps with the collection's kernels between them (the graph runs them only in run()). */
  private readonly steps: Step[];
  tokens = 0;

  constructor(graph: LlamaGraph, f16Inputs = false) {
    this.graph = graph;
    this.f16Inputs = f16Inputs;
    const { pool } = graph;
    const scale = pool.create("imatrix row scale", graph.maxBatch * 4, STORAGE());
    const normedCols = Math.max(
      1,
      ...graph.taps.filter((t) => f16Inputs && t.prenormed).map((t) => t.cols),
    );
    const xn = pool.create("imatrix normed input", graph.maxBatch * normedCols * 4, STORAGE());
    const before = new Map<number, Step[]>();
    const instead = new Map<number, Step[]>();
    for (const tap of graph.taps) {
      const sums = pool.create(`imatrix ${tap.names[0]}`, tap.cols * 4, STORAGE());
      pool.device.queue.writeBuffer(sums, 0, new Float32Array(tap.cols));
      this.sums.push(sums);
      const steps = before.get(tap.at) ?? [];
      if (tap.norm) {
        const rows = rowScaleKernel(tap.cols, tap.norm.eps);
        steps.push({
          kernel: rows,
          group: graph.bindGroup(rows, { x: tap.input, scale }),
          size: (T) => [Math.ceil(T / IMATRIX_WG), 1],
        });
      }
      const squares = sumSquaresKernel(tap.cols, tap.norm !== undefined);
      const buffers: Record<string, GPUBuffer> = tap.norm
        ? { x: tap.input, scale, g: tap.norm.g, sums }
        : { x: tap.input, sums };
      steps.push({
        kernel: squares,
        group: graph.bindGroup(squares, buffers),
        size: () => [Math.ceil(tap.cols / IMATRIX_WG), 1],
      });
      if (f16Inputs && tap.f16) {
        const size = (T: number): [number, number] => [Math.ceil(tap.cols / IMATRIX_WG), T];
        if (tap.norm && tap.prenormed) {
          const norm = normRoundKernel(tap.cols);
          const buffers = { x: tap.input, scale, g: tap.norm.g, xn };
          steps.push({ kernel: norm, group: graph.bindGroup(norm, buffers), size });
          instead.set(tap.at, tap.prenormed(xn));
        } else if (!tap.norm) {
          const round = roundF16Kernel(tap.cols);
          steps.push({ kernel: round, group: graph.bindGroup(round, { x: tap.input }), size });
        }
      }
      before.set(tap.at, steps);
    }
    this.scratch = [scale, xn];
    // A prenormed replacement stands for as many steps as it has (the parts of a split matrix).
    this.steps = [];
    for (let i = 0; i < graph.layerSteps.length; i++) {
      this.steps.push(...(before.get(i) ?? []));
      const replacement = instead.get(i);
      if (replacement) {
        this.steps.push(...replacement);
        i += replacement.length - 1;
      } else {
        this.steps.push(graph.layerSteps[i] as Step);
      }
    }
  }

  /** Runs each chunk from position 0 (a fresh context) through the layers; no logits. */
  run(chunks: readonly number[][]): void {
    const { graph } = this;
    // Only these passes: an evaluate between two calls neither adds to the sums nor rounds.
    graph.tapped = this.steps;
    try {
      for (const chunk of chunks) {
        for (let pos = 0; pos < chunk.length; pos += graph.maxBatch) {
          graph.prefill(chunk.slice(pos, pos + graph.maxBatch), pos);
        }
        this.tokens += chunk.length;
      }
    } finally {
      graph.tapped = undefined;
    }
  }

  /** Every tapped weight's sums (one copy per weight sharing an input) and its token count. */
  async read(): Promise<ImatrixMatrix[]> {
    const { graph } = this;
    const bytes = graph.taps.reduce((n, tap) => n + tap.cols * 4, 0);
    const staging = graph.pool.create(
      "imatrix readback",
      bytes,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    );
    try {
      const encoder = graph.pool.device.createCommandEncoder();
      let at = 0;
      for (const [i, tap] of graph.taps.entries()) {
        encoder.copyBufferToBuffer(this.sums[i] as GPUBuffer, 0, staging, at, tap.cols * 4);
        at += tap.cols * 4;
      }
      graph.pool.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const all = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      const matrices: ImatrixMatrix[] = [];
      at = 0;
      for (const tap of graph.taps) {
        const sums = Array.from(all.subarray(at, at + tap.cols));
        at += tap.cols;
        for (const name of tap.names) matrices.push({ name, sums, counts: [this.tokens] });
      }
      return matrices.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } finally {
      graph.pool.destroy(staging);
    }
  }

  /** Back to the plain steps; the sums' buffers are freed. */
  close(): void {
    for (const buffer of [...this.sums, ...this.scratch]) this.graph.pool.destroy(buffer);
  }
}

/** The collection open on each loaded graph (its buffers go with the graph's on unload). */
const open = new WeakMap<LlamaGraph, ImatrixCollector>();

/** Ends the collection open on `graph`, if any (its sums are dropped): a swap-weights does. */
export function endCollection(graph: LlamaGraph): void {
  open.get(graph)?.close();
  open.delete(graph);
}

function checkParams(state: Session, params: CollectImatrixParams): void {
  if (!Array.isArray(params.chunks)) {
    throw new RunnerError("BAD_PARAMS", "chunks must be a list of token lists");
  }
  if (params.f16Inputs !== undefined && typeof params.f16Inputs !== "boolean") {
    throw new RunnerError("BAD_PARAMS", "f16Inputs must be true or false");
  }
  for (const [i, chunk] of params.chunks.entries()) {
    if (!Array.isArray(chunk) || chunk.length < 1) {
      throw new RunnerError("BAD_PARAMS", `chunks[${i}] must hold at least one token`);
    }
    if (chunk.length > state.graph.contextSize) {
      throw new RunnerError(
        "CONTEXT_OVERFLOW",
        `chunks[${i}] has ${chunk.length} tokens; the context holds ${state.graph.contextSize}`,
      );
    }
    checkTokens(state, chunk, `chunks[${i}]`);
  }
}

/** Adds the chunks to the open collection (a new one on `reset` or when none is open); `read` returns and closes it. */
export async function collectImatrix(
  state: Session,
  params: CollectImatrixParams,
): Promise<CollectImatrixResult> {
  checkParams(state, params);
  const started = performance.now();
  const { graph } = state;
  if (params.reset) {
    open.get(graph)?.close();
    open.delete(graph);
  }
  const f16Inputs = params.f16Inputs === true;
  const continued = open.get(graph);
  if (continued && continued.f16Inputs !== f16Inputs) {
    throw new RunnerError(
      "BAD_PARAMS",
      `f16Inputs is ${f16Inputs} but the open collection was started with ${continued.f16Inputs} (pass reset to start afresh)`,
    );
  }
  const collector = continued ?? new ImatrixCollector(graph, f16Inputs);
  open.set(graph, collector);
  collector.run(params.chunks);
  if (!params.read) {
    await state.graph.finished();
    return { tokens: collector.tokens, evalMs: performance.now() - started };
  }
  const matrices = await collector.read();
  collector.close();
  open.delete(graph);
  return { tokens: collector.tokens, evalMs: performance.now() - started, matrices };
}
