/** A buffer the adapter's limits cannot hold; the runner answers OUT_OF_MEMORY with the message. */
export class BufferLimitError extends Error {}

/**
 * GPU buffers created through one place, so the runner can report the bytes it holds and every
 * buffer is checked against the adapter's limits before Dawn sees it.
 */
export class BufferPool {
  readonly device: GPUDevice;
  private readonly live = new Map<GPUBuffer, number>();
  private bytes = 0;
  private readonly cap: number;

  /** `cap`: a binding size to plan for below the adapter's (tests of splitting use it). */
  constructor(device: GPUDevice, cap = Number.POSITIVE_INFINITY) {
    this.device = device;
    this.cap = cap;
  }

  /** The largest buffer a kernel can bind as storage (the smaller of the two limits). */
  get bindingLimit(): number {
    const { maxStorageBufferBindingSize, maxBufferSize } = this.device.limits;
    return Math.min(maxStorageBufferBindingSize, maxBufferSize, this.cap);
  }

  /** A buffer of at least `size` bytes (rounded up to 4, as WebGPU copies require). */
  create(label: string, size: number, usage: number): GPUBuffer {
    const rounded = Math.max(4, Math.ceil(size / 4) * 4);
    const { maxBufferSize, maxStorageBufferBindingSize } = this.device.limits;
    const storage = (usage & GPUBufferUsage.STORAGE) !== 0;
    const [limit, name] =
      storage && maxStorageBufferBindingSize < maxBufferSize
        ? [maxStorageBufferBindingSize, "maxStorageBufferBindingSize"]
        : [maxBufferSize, "maxBufferSize"];
    if (rounded > limit) {
      throw new BufferLimitError(
        `buffer "${label}" (${rounded} bytes) exceeds this adapter's ${limit}-byte ${name}`,
      );
    }
    const buffer = this.device.createBuffer({ label, size: rounded, usage });
    this.live.set(buffer, rounded);
    this.bytes += rounded;
    return buffer;
  }

  /** A storage buffer filled with `data`. */
  upload(label: string, data: ArrayBufferView, extraUsage = 0): GPUBuffer {
    const buffer = this.create(
      label,
      data.byteLength,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extraUsage,
    );
    const padded = data.byteLength % 4 === 0 ? data : padTo4(data);
    this.device.queue.writeBuffer(buffer, 0, padded.buffer, padded.byteOffset, padded.byteLength);
    return buffer;
  }

  destroy(buffer: GPUBuffer): void {
    const size = this.live.get(buffer);
    if (size === undefined) return;
    this.live.delete(buffer);
    this.bytes -= size;
    buffer.destroy();
  }

  destroyAll(): void {
    for (const buffer of [...this.live.keys()]) this.destroy(buffer);
  }

  /** The buffers created here and not yet destroyed. */
  buffers(): Set<GPUBuffer> {
    return new Set(this.live.keys());
  }

  /** Bytes of the buffers created here and not yet destroyed. */
  get liveBytes(): number {
    return this.bytes;
  }
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

/** Reads `size` bytes of `source` back to the CPU through a reusable mappable buffer. */
export class Readback {
  private staging: GPUBuffer | undefined;
  private readonly pool: BufferPool;

  constructor(pool: BufferPool) {
    this.pool = pool;
  }

  /** The staging buffer, grown (only) when a read is larger than any before. */
  target(size: number): GPUBuffer {
    if (!this.staging || this.staging.size < size) {
      if (this.staging) this.pool.destroy(this.staging);
      this.staging = this.pool.create(
        "readback",
        size,
        GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      );
    }
    return this.staging;
  }

  /** Maps the staging buffer after the copy `encode` recorded into it was submitted. */
  async read(size: number): Promise<ArrayBuffer> {
    const staging = this.target(size);
    await staging.mapAsync(GPUMapMode.READ, 0, Math.ceil(size / 4) * 4);
    const copy = staging.getMappedRange(0, Math.ceil(size / 4) * 4).slice(0, size);
    staging.unmap();
    return copy;
  }
}
