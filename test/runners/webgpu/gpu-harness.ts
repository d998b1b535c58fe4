/**
 * Runs single WGSL kernels of the WebGPU runner on the machine's adapter (the software one
 * where there is no GPU) and reads their outputs back, for comparison with reference.ts.
 */
import { acquireGpu, type Gpu } from "../../../runners/webgpu/device.js";
import {
  dispatch,
  encodeParams,
  KernelCache,
  type KernelSource,
  PARAMS_BYTES,
  type PassParams,
} from "../../../runners/webgpu/kernels/kernel.js";

let acquired: Promise<Gpu | string> | undefined;

/** The adapter, or why there is none (tests then skip with that reason). */
export function gpuOrReason(): Promise<Gpu | string> {
  acquired ??= acquireGpu().catch((error: Error) => error.message);
  return acquired;
}

export class KernelHarness {
  readonly device: GPUDevice;
  private readonly kernels: KernelCache;

  constructor(gpu: Gpu) {
    this.device = gpu.device;
    this.kernels = new KernelCache(gpu.device);
  }

  /** A storage buffer holding `data` (padded to 4 bytes), readable back. */
  buffer(data: ArrayBufferView): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 4) * 4);
    const buffer = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    const bytes = new Uint8Array(size);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.device.queue.writeBuffer(buffer, 0, bytes);
    return buffer;
  }

  zeros(bytes: number): GPUBuffer {
    return this.buffer(new Uint8Array(bytes));
  }

  uniform(data: ArrayBufferView): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buffer = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const bytes = new Uint8Array(size);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.device.queue.writeBuffer(buffer, 0, bytes);
    return buffer;
  }

  /** Dispatches `kernel` once with pass parameters `params` and the named buffers. */
  run(
    kernel: KernelSource,
    params: PassParams,
    buffers: Record<string, GPUBuffer>,
    groups: [number, number],
  ): void {
    const P = this.uniform(encodeParams(params, new Uint32Array(PARAMS_BYTES / 4)));
    const group = this.kernels.bind(kernel, { P, ...buffers });
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    dispatch(pass, this.kernels.compile(kernel), group, groups[0], groups[1]);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const copy = staging.getMappedRange().slice(0, bytes);
    staging.destroy();
    return copy;
  }

  async readF32(buffer: GPUBuffer, count: number): Promise<Float32Array> {
    return new Float32Array(await this.read(buffer, count * 4));
  }

  /** Validation errors raised while `body` ran, so a bad shader fails its test by name. */
  async errorsDuring(body: () => void): Promise<string | undefined> {
    this.device.pushErrorScope("validation");
    body();
    const error = await this.device.popErrorScope();
    return error?.message;
  }
}
