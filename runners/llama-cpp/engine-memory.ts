/**
 * The engine's own memory figures, read from the lines llama.cpp logs while it loads a model and
 * creates a context (llama-model.cpp "model buffer size", llama-kv-cache.cpp "llama_kv_cache:
 * size = …", llama-context.cpp "compute buffer size"). They are logged in MiB with two decimals.
 */
import type { EngineMemory } from "../../src/runner-client/protocol.js";

const MIB = 1024 * 1024;
const MODEL = /model buffer size =\s*([\d.]+) MiB/;
const KV = /llama_kv_cache: size =\s*([\d.]+) MiB \(\s*(\d+) cells,.*K \((\w+)\):.*V \((\w+)\):/;
const COMPUTE = /compute buffer size =\s*([\d.]+) MiB/;

export class EngineMemoryLog {
  #model = 0;
  #kv = 0;
  #cells = 0;
  #types: { k: string; v: string } | undefined;
  #compute = 0;
  #seenModel = false;
  #seenKv = false;
  #seenCompute = false;

  /** Forget the context's figures (a new context is being created); the model's stay. */
  resetContext(): void {
    this.#kv = 0;
    this.#cells = 0;
    this.#compute = 0;
    this.#types = undefined;
    this.#seenKv = false;
    this.#seenCompute = false;
  }

  observe(line: string): void {
    const model = MODEL.exec(line);
    if (model) {
      this.#model += Number(model[1]) * MIB;
      this.#seenModel = true;
      return;
    }
    const kv = KV.exec(line);
    if (kv) {
      // A model with sliding-window layers logs two caches (full and window): both count.
      this.#kv += Number(kv[1]) * MIB;
      this.#cells = Math.max(this.#cells, Number(kv[2]));
      this.#types ??= { k: String(kv[3]), v: String(kv[4]) };
      this.#seenKv = true;
      return;
    }
    const compute = COMPUTE.exec(line);
    if (compute) {
      this.#compute += Number(compute[1]) * MIB;
      this.#seenCompute = true;
    }
  }

  /**
   * The figures once the context's lines have arrived: node-llama-cpp delivers log lines
   * asynchronously, so they can trail the context's creation by a few ticks.
   */
  async settled(timeoutMs = 2000): Promise<EngineMemory> {
    const deadline = performance.now() + timeoutMs;
    while (!(this.#seenKv && this.#seenCompute) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.snapshot();
  }

  snapshot(): EngineMemory {
    return {
      ...(this.#seenModel ? { modelBufferBytes: Math.round(this.#model) } : {}),
      ...(this.#seenKv ? { kvBytes: Math.round(this.#kv), kvCells: this.#cells } : {}),
      ...(this.#types ? { kvTypes: this.#types } : {}),
      ...(this.#seenCompute ? { computeBytes: Math.round(this.#compute) } : {}),
      resolutionBytes: Math.round(0.005 * MIB),
    };
  }
}
