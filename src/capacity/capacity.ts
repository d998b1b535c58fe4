/**
 * What a variant's memory buys on a device: the longest context one sequence can have, and how
 * many sequences of the plan's context fit, beside the weights and the compute buffers.
 */
import { type KvShape, kvBytesPerToken, kvCacheBytes, kvCells } from "./kv-cache.js";

export interface CapacityInput {
  shape: KvShape;
  kvTypes: { k: string; v: string };
  /** The device memory to fit in. */
  budgetBytes: number;
  /** The weights as loaded (the engine's model buffers, else the file's tensor bytes). */
  weightBytes: number;
  /** The compute buffers at the plan's context (they grow with the batch, not the cache). */
  computeBytes: number;
  contextSize: number;
  microBatch: number;
}

export interface Capacity {
  /** KV bytes of one sequence at the plan's context. */
  kvBytesAtContext: number;
  /** KV bytes each further token of context costs (full-attention layers). */
  kvBytesPerToken: number;
  /** The longest context (a multiple of 256, as llama.cpp pads it) one sequence fits in; 0 if none. */
  maxContext: number;
  /** Sequences of the plan's context that fit at once (each with its own cache); 0 if none. */
  concurrentAtContext: number;
  /** What is left for the cache after the weights and compute buffers (may be negative). */
  freeForKvBytes: number;
}

export function capacityOf(input: CapacityInput): Capacity {
  const { shape, kvTypes, contextSize, microBatch } = input;
  const free = input.budgetBytes - input.weightBytes - input.computeBytes;
  const atContext = kvCacheBytes(shape, kvCells(shape, contextSize, microBatch), kvTypes).total;
  const perToken = kvBytesPerToken(shape, kvTypes);
  // Window layers cost a fixed amount once the context passes the window: take it at the limit.
  const windowBytes = kvCacheBytes(
    shape,
    { full: 0, window: kvCells(shape, Number.MAX_SAFE_INTEGER, microBatch).window },
    kvTypes,
  ).total;
  let maxContext = 0;
  if (perToken > 0 && free > windowBytes) {
    maxContext = Math.floor((free - windowBytes) / perToken / 256) * 256;
  }
  return {
    kvBytesAtContext: atContext,
    kvBytesPerToken: perToken,
    maxContext,
    concurrentAtContext: atContext > 0 && free > 0 ? Math.floor(free / atContext) : 0,
    freeForKvBytes: free,
  };
}

/** What the engine's own buffers say a budget holds (its measured KV at the plan's context). */
export interface MeasuredCapacity {
  /** Sequences of the allocated context that fit beside the weights and compute buffers. */
  concurrentAtContext: number;
  /** The longest context one sequence fits in (a multiple of 256); full-attention layers only. */
  maxContext: number;
}

export function measuredCapacity(
  figures: {
    engineModelBytes?: number | null;
    engineKvBytes?: number | null;
    engineComputeBytes?: number | null;
    engineContextSize?: number | null;
  },
  budgetBytes: number,
): MeasuredCapacity | undefined {
  const { engineModelBytes: weights, engineKvBytes: kv, engineComputeBytes: compute } = figures;
  const cells = figures.engineContextSize;
  if (weights == null || kv == null || compute == null || !cells || kv <= 0) return undefined;
  const free = budgetBytes - weights - compute;
  if (free <= 0) return { concurrentAtContext: 0, maxContext: 0 };
  return {
    concurrentAtContext: Math.floor(free / kv),
    maxContext: Math.floor(free / (kv / cells) / 256) * 256,
  };
}
