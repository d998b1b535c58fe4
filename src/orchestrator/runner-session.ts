import type { RunnerFailure } from "../errors.js";
import { type EnergySpan, type EnergySummary, summarizeEnergy } from "../measure/energy.js";
import { combineFigures, type MemoryFigures, MemorySampler } from "../measure/memory-sampler.js";
import type { RunnerClient, RunnerCommand } from "../runner-client/client.js";
import type { LoadParams } from "../runner-client/protocol.js";
import { type StartedRunner, startRunner } from "../runner-client/start.js";

/** How to start the runner of one model. */
export interface RunnerSpec {
  command: RunnerCommand;
  load: LoadParams;
  loadTimeoutMs: number;
}

export interface RunnerSessionOptions {
  /** Sample each runner process's memory from spawn on, the idle level before load included. */
  sampleMemory?: boolean;
  /** Aborted: the newest runner process is killed at once (a load can be stopped too). */
  signal?: AbortSignal | undefined;
  /** Called after every start: the first one and each restart. */
  onStart?: (started: StartedRunner) => void;
}

/**
 * One model's runner process, one at a time: started on first use, started again after a crash
 * or hang, killed on abort, stopped by `close`. The only place a runner is started.
 */
export class RunnerSession {
  private live: StartedRunner | undefined;
  private starting: Promise<StartedRunner> | undefined;
  private spawned: RunnerClient | undefined;
  private sampler: MemorySampler | undefined;
  private readonly memory: MemoryFigures[] = [];
  private readonly spans: EnergySpan[] = [];
  private noEnergy: string | undefined;
  private readonly kill = () => this.spawned?.kill();

  constructor(
    private readonly spec: RunnerSpec,
    private readonly options: RunnerSessionOptions = {},
  ) {
    options.signal?.addEventListener("abort", this.kill, { once: true });
  }

  /** The live runner; one is started if there is none (one start for callers that ask at once). */
  async runner(): Promise<StartedRunner> {
    if (this.live) return this.live;
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    this.live = await this.starting;
    return this.live;
  }

  /**
   * After a failure: a crash or hang leaves no usable runner, so the next `runner()` starts one.
   * With `client`, only when that runner is still the live one: a failure seen late by a second
   * item in flight on the same crashed runner does not drop its successor.
   */
  failed(failure: RunnerFailure, client?: RunnerClient): void {
    if (failure.kind === "error") return;
    if (client === undefined || this.live?.client === client) this.live = undefined;
  }

  /** Runs one measured generation, marking it for the energy figures. */
  async measured<T>(generate: () => Promise<T>, tokens: (result: T) => number): Promise<T> {
    const source = this.sampler?.energySource();
    if (!source || "reason" in source) {
      this.noEnergy = source?.reason ?? "no memory sampler";
      return generate();
    }
    const from = source.mark();
    const result = await generate();
    this.spans.push({ source, from, to: source.mark(), tokens: tokens(result) });
    return result;
  }

  /** Energy over the measured generations (call after close), or why there is none. */
  energy(): EnergySummary | { reason: string } {
    const summary = summarizeEnergy(this.spans);
    return "reason" in summary && this.spans.length === 0 && this.noEnergy
      ? { reason: this.noEnergy }
      : summary;
  }

  /** Stops the runner and the sampling; the memory figures of every process it started. */
  async close(): Promise<MemoryFigures> {
    this.options.signal?.removeEventListener("abort", this.kill);
    await this.stopSampler();
    await this.live?.client.stop();
    this.live = undefined;
    return combineFigures(this.memory);
  }

  private async start(): Promise<StartedRunner> {
    const { command, load, loadTimeoutMs } = this.spec;
    const started = await startRunner(command, load, loadTimeoutMs, {
      onSpawn: async (client) => {
        this.spawned = client;
        if (this.options.signal?.aborted) client.kill();
        await this.stopSampler();
        if (this.options.sampleMemory && client.pid !== undefined) {
          this.sampler = await MemorySampler.start(client.pid);
        }
      },
    });
    this.options.onStart?.(started);
    return started;
  }

  private async stopSampler(): Promise<void> {
    if (this.sampler) this.memory.push(await this.sampler.stop());
    this.sampler = undefined;
  }
}
