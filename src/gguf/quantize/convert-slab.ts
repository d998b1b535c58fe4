import { FORMATS } from "./formats.js";

/** A reusable buffer whose views are 4-byte aligned; shared when worker threads must see it. */
export class Scratch {
  private buffer: ArrayBuffer | SharedArrayBuffer;
  constructor(private readonly shared = false) {
    this.buffer = shared ? new SharedArrayBuffer(0) : new ArrayBuffer(0);
  }
  private ensure(bytes: number): void {
    if (this.buffer.byteLength >= bytes) return;
    this.buffer = this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }
  bytes(n: number): Uint8Array {
    this.ensure(n);
    return new Uint8Array(this.buffer, 0, n);
  }
  floats(n: number): Float32Array {
    this.ensure(4 * n);
    return new Float32Array(this.buffer, 0, n);
  }
}

/** Whole rows of one tensor: check the input; when `target` is set, convert into `output` and check that. */
export interface SlabTask {
  /** ggml type id of `input`. */
  source: number;
  /** ggml type id to write into `output`; undefined when the rows are copied as they are. */
  target: number | undefined;
  input: Uint8Array;
  output: Uint8Array | undefined;
  /** Importance weights (llama-quantize --imatrix) for the rows of this task, when the target uses them. */
  imatrix?: SlabImatrix | undefined;
}

/** A tensor's imatrix entry and where the task's rows sit in the tensor (one weight vector per expert). */
export interface SlabImatrix {
  /** ne[0] × ne[2] weights: one row's worth per expert. */
  weights: Float32Array;
  rowLength: number;
  rowsPerExpert: number;
  /** Index in the tensor of the task's first row. */
  firstRow: number;
}

/** First invalid block (element, for float types) of the input and of the output within the task, or -1. */
export interface SlabCheck {
  invalidInput: number;
  invalidOutput: number;
}

/**
 * ggml_validate_row_data on the input (llama-quantize loads with check_tensors on), conversion to
 * float32 (F16, BF16 and --allow-requantize sources), encoding, and validation of what was
 * written. Types without a decoder here are copied unchecked.
 */
export function convertSlab(task: SlabTask, floats: Scratch): SlabCheck {
  const from = FORMATS.get(task.source);
  const invalidInput = from?.findInvalidBlock(task.input) ?? -1;
  if (invalidInput >= 0 || task.target === undefined) return { invalidInput, invalidOutput: -1 };
  const to = FORMATS.get(task.target);
  if (from === undefined || to === undefined || task.output === undefined) {
    throw new Error(`unreachable: no conversion from type ${task.source} to ${task.target}`);
  }
  const elements = (task.input.length / from.typeSize) * from.blockSize;
  let values: Float32Array;
  if (from.type === 0) {
    values = new Float32Array(task.input.buffer, task.input.byteOffset, elements);
  } else {
    values = floats.floats(elements);
    from.dequantizeRow(task.input, values);
  }
  const im = task.imatrix;
  if (im !== undefined && to.quantizeRowWeighted !== undefined) {
    const n = im.rowLength;
    const outRow = task.output.length / (elements / n);
    for (let r = 0; r < elements / n; r++) {
      const expert = Math.floor((im.firstRow + r) / im.rowsPerExpert);
      to.quantizeRowWeighted(
        values.subarray(r * n, (r + 1) * n),
        task.output.subarray(r * outRow, (r + 1) * outRow),
        im.weights.subarray(expert * n, (expert + 1) * n),
      );
    }
  } else {
    to.quantizeRow(values, task.output);
  }
  return { invalidInput: -1, invalidOutput: to.findInvalidBlock(task.output) };
}
