import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { execa, type ResultPromise } from "execa";
import { type EnergySource, findRaplDomains, PowerTraceEnergy, RaplEnergy } from "./energy.js";
import { parseComputeApps, parseGpuMemory, parseGpuPower } from "./nvidia-smi.js";

const run = promisify(execFile);

/** What a sampler measured; a figure it could not measure is absent, with the reason in `notes`. */
export interface MemoryFigures {
  /** The runner's peak resident set size (VmHWM). */
  peakRssBytes?: number;
  /** Device memory peak over all GPUs, minus the idle level measured before the runner loaded. */
  devicePeakBytes?: number;
  deviceIdleBytes?: number;
  /** The runner process's own peak GPU memory (nvidia-smi --query-compute-apps). */
  processDevicePeakBytes?: number;
  samples: number;
  notes: Record<string, string>;
}

export interface SamplerOptions {
  intervalMs?: number;
  /** The nvidia-smi executable; tests point it at a script. */
  nvidiaSmi?: string;
}

async function readProcStatus(pid: number): Promise<{ hwm?: number; rss?: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, "m").exec(text);
      return m?.[1] ? Number(m[1]) * 1024 : undefined;
    };
    const hwm = kb("VmHWM");
    const rss = kb("VmRSS");
    return { ...(hwm !== undefined ? { hwm } : {}), ...(rss !== undefined ? { rss } : {}) };
  } catch {
    return undefined;
  }
}

/** Idle device memory (sum over GPUs), or the reason there is none. */
export async function deviceIdle(
  nvidiaSmi = "nvidia-smi",
): Promise<{ bytes: number } | { reason: string }> {
  try {
    const { stdout } = await run(
      nvidiaSmi,
      ["--query-gpu=index,memory.used,memory.total", "--format=csv,noheader,nounits"],
      {
        timeout: 5000,
      },
    );
    const gpus = parseGpuMemory(stdout);
    if (gpus.length === 0) return { reason: "nvidia-smi reported no GPU" };
    return { bytes: gpus.reduce((n, g) => n + g.usedBytes, 0) };
  } catch {
    return { reason: "no NVIDIA GPU here (nvidia-smi not found or failed)" };
  }
}

/**
 * Samples a runner process's memory for its whole life: VmHWM from /proc, and where an NVIDIA
 * GPU exists, device memory from a streaming nvidia-smi (-lms) and the process's own GPU memory.
 * Start it with the runner and stop it before the runner exits; nvidia-smi runs under a watchdog
 * that ends it if qbench dies, so a killed run leaves none behind.
 */
export class MemorySampler {
  private readonly figures: MemoryFigures = { samples: 0, notes: {} };
  private readonly timer: NodeJS.Timeout;
  private stream: ResultPromise | undefined;
  private appsBusy = false;
  private ticks = 0;
  private readonly power: PowerTraceEnergy;

  private constructor(
    private readonly pid: number,
    private readonly options: Required<SamplerOptions>,
    idle: { bytes: number } | { reason: string },
  ) {
    this.timer = setInterval(() => void this.sample(), options.intervalMs);
    this.power = new PowerTraceEnergy("nvidia-smi power.draw (all GPUs)", 2 * options.intervalMs);
    if ("bytes" in idle) {
      this.figures.deviceIdleBytes = idle.bytes;
      this.startDeviceStream(idle.bytes);
    } else {
      this.figures.notes.device = idle.reason;
      this.figures.notes.processDevice = idle.reason;
    }
  }

  /** Measures the idle device level first (before the runner loads anything), then starts sampling. */
  static async start(pid: number, options: SamplerOptions = {}): Promise<MemorySampler> {
    const full = {
      intervalMs: options.intervalMs ?? 100,
      nvidiaSmi: options.nvidiaSmi ?? "nvidia-smi",
    };
    return new MemorySampler(pid, full, await deviceIdle(full.nvidiaSmi));
  }

  private startDeviceStream(idle: number): void {
    const query = `"${this.options.nvidiaSmi}" --query-gpu=index,memory.used,memory.total,power.draw --format=csv,noheader,nounits -lms ${this.options.intervalMs}`;
    // The watchdog shell ends nvidia-smi when its parent (this process) is gone, even after
    // kill -9; it runs in its own process group so that stop() can end both at once.
    const watchdog = `${query} & child=$!; while kill -0 ${process.pid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done; kill $child 2>/dev/null`;
    this.stream = execa("sh", ["-c", watchdog], {
      buffer: false,
      reject: false,
      cleanup: true,
      detached: true,
    });
    let pending = "";
    const latest = new Map<number, number>();
    const watts = new Map<number, number>();
    this.stream.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      const text = lines.join("\n");
      for (const gpu of parseGpuMemory(text)) latest.set(gpu.index, gpu.usedBytes);
      const used = [...latest.values()].reduce((n, b) => n + b, 0);
      this.figures.devicePeakBytes = Math.max(this.figures.devicePeakBytes ?? 0, used - idle);
      // The 4th field: power.draw of each GPU ("[N/A]" where the board has no sensor).
      const power = parseGpuPower(text, 3);
      for (const gpu of power) watts.set(gpu.index, gpu.watts);
      if (power.length > 0) {
        this.power.add({
          t: performance.now(),
          watts: [...watts.values()].reduce((n, w) => n + w, 0),
        });
      }
    });
  }

  private async sample(): Promise<void> {
    this.ticks++;
    const status = await readProcStatus(this.pid);
    if (status?.hwm !== undefined) {
      this.figures.peakRssBytes = Math.max(this.figures.peakRssBytes ?? 0, status.hwm);
      this.figures.samples++;
    }
    // Per-process GPU memory is a one-shot query: every fifth tick keeps it near 2 Hz.
    if (this.figures.deviceIdleBytes !== undefined && this.ticks % 5 === 0 && !this.appsBusy) {
      this.appsBusy = true;
      try {
        const { stdout } = await run(
          this.options.nvidiaSmi,
          ["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
          {
            timeout: 5000,
          },
        );
        const mine = parseComputeApps(stdout).filter((p) => p.pid === this.pid);
        if (mine.length > 0) {
          const used = mine.reduce((n, p) => n + p.usedBytes, 0);
          this.figures.processDevicePeakBytes = Math.max(
            this.figures.processDevicePeakBytes ?? 0,
            used,
          );
        }
      } catch {
        // A missed sample only lowers the sampling rate.
      } finally {
        this.appsBusy = false;
      }
    }
  }

  /**
   * Where this variant's energy is measured: the GPUs' power trace when nvidia-smi reports
   * power, else the CPU packages' RAPL counters when readable; else the reason there is none.
   */
  energySource(): EnergySource | { reason: string } {
    if (this.power.samples.length > 0) return this.power;
    const rapl = findRaplDomains();
    if ("domains" in rapl) return new RaplEnergy(rapl.domains);
    const gpu = this.figures.notes.device ? "no GPU power" : "nvidia-smi reported no power.draw";
    return { reason: `${gpu}; ${rapl.reason}` };
  }

  /** Takes a last sample and stops; call before the runner exits. */
  async stop(): Promise<MemoryFigures> {
    clearInterval(this.timer);
    await this.sample();
    const group = this.stream?.pid;
    if (group !== undefined) {
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        // Already gone.
      }
      await this.stream;
    }
    if (this.figures.peakRssBytes === undefined)
      this.figures.notes.peakRss = "/proc/<pid>/status not readable here";
    if (
      this.figures.deviceIdleBytes !== undefined &&
      this.figures.processDevicePeakBytes === undefined
    ) {
      this.figures.notes.processDevice =
        "the runner never appeared in nvidia-smi --query-compute-apps (CPU-only run?)";
    }
    return { ...this.figures, notes: { ...this.figures.notes } };
  }
}

/** Figures over several runner processes of one variant (after a restart): the peaks of all. */
export function combineFigures(parts: readonly MemoryFigures[]): MemoryFigures {
  const max = (
    key: "peakRssBytes" | "devicePeakBytes" | "processDevicePeakBytes" | "deviceIdleBytes",
  ) => {
    const values = parts.map((p) => p[key]).filter((v): v is number => v !== undefined);
    return values.length > 0 ? { [key]: Math.max(...values) } : {};
  };
  return {
    ...max("peakRssBytes"),
    ...max("devicePeakBytes"),
    ...max("deviceIdleBytes"),
    ...max("processDevicePeakBytes"),
    samples: parts.reduce((n, p) => n + p.samples, 0),
    notes: Object.assign({}, ...parts.map((p) => p.notes)),
  };
}
