import { Worker } from "node:worker_threads";
import {
  convertSlab,
  Scratch,
  type SlabCheck,
  type SlabImatrix,
  type SlabTask,
} from "./convert-slab.js";
import { FORMATS } from "./formats.js";

/** A SlabTask as it crosses to a worker: offsets into buffers shared with it. */
export interface SlabMessage {
  id: number;
  source: number;
  target: number | undefined;
  input: SharedArrayBuffer;
  inputOffset: number;
  inputLength: number;
  output: SharedArrayBuffer | undefined;
  outputOffset: number;
  outputLength: number;
  /** Copied to the worker (a few KiB per tensor). */
  imatrix: SlabImatrix | undefined;
}

/**
 * Converts slabs of rows, on worker threads when there are several (rows are independent, so the
 * bytes are the same however the rows are split), else on the calling thread. Slab buffers must
 * be SharedArrayBuffer-backed for the workers to see them.
 */
export class SlabConverter {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (c: SlabCheck) => void; reject: (e: unknown) => void }
  >();
  private readonly floats = new Scratch();
  private nextId = 0;

  constructor(threads: number) {
    for (let i = 0; i < (threads > 1 ? threads : 0); i++) {
      const worker = new Worker(new URL("./slab-worker.js", import.meta.url));
      worker.on("message", (m: SlabCheck & { id: number }) => {
        this.pending.get(m.id)?.resolve(m);
        this.pending.delete(m.id);
      });
      worker.on("error", (error) => this.failAll(error));
      worker.on("exit", (code) => {
        if (code !== 0) this.failAll(new Error(`quantize worker exited with code ${code}`));
      });
      this.workers.push(worker);
    }
  }

  /** Whether slab buffers must be shared. */
  get parallel(): boolean {
    return this.workers.length > 0;
  }

  private failAll(error: unknown): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private post(worker: Worker, task: SlabTask): Promise<SlabCheck> {
    const id = this.nextId++;
    const message: SlabMessage = {
      id,
      source: task.source,
      target: task.target,
      input: task.input.buffer as SharedArrayBuffer,
      inputOffset: task.input.byteOffset,
      inputLength: task.input.byteLength,
      output: task.output?.buffer as SharedArrayBuffer | undefined,
      outputOffset: task.output?.byteOffset ?? 0,
      outputLength: task.output?.byteLength ?? 0,
      imatrix: task.imatrix,
    };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(message);
    });
  }

  /**
   * Checks and converts `rows` rows; indices in the result are relative to the whole task.
   * An invalid input anywhere wins over an invalid output, as llama-quantize checks a slab on load.
   */
  async convert(task: SlabTask, rows: number): Promise<SlabCheck> {
    const parts = Math.min(this.workers.length, rows);
    if (parts <= 1) return convertSlab(task, this.floats);
    const inRow = task.input.length / rows;
    const outRow = (task.output?.length ?? 0) / rows;
    const per = Math.ceil(rows / parts);
    const jobs: Promise<SlabCheck>[] = [];
    const firstRows: number[] = [];
    for (let p = 0, r = 0; r < rows; p++, r += per) {
      const n = Math.min(per, rows - r);
      firstRows.push(r);
      jobs.push(
        this.post(this.workers[p] as Worker, {
          ...task,
          input: task.input.subarray(r * inRow, (r + n) * inRow),
          output: task.output?.subarray(r * outRow, (r + n) * outRow),
          imatrix:
            task.imatrix === undefined
              ? undefined
              : { ...task.imatrix, firstRow: task.imatrix.firstRow + r },
        }),
      );
    }
    const checks = await Promise.all(jobs);
    // Block sizes in bytes, to turn a part's first row into a block index of the whole task.
    const inBlock = FORMATS.get(task.source)?.typeSize ?? 1;
    const outBlock = task.target === undefined ? 1 : (FORMATS.get(task.target)?.typeSize ?? 1);
    const first = (key: keyof SlabCheck, rowBytes: number, blockBytes: number) => {
      for (const [p, c] of checks.entries()) {
        if (c[key] >= 0) return ((firstRows[p] ?? 0) * rowBytes) / blockBytes + c[key];
      }
      return -1;
    };
    return {
      invalidInput: first("invalidInput", inRow, inBlock),
      invalidOutput: first("invalidOutput", outRow, outBlock),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
