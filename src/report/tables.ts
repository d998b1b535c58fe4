import { measuredCapacity } from "../capacity/capacity.js";
import type { RunRecord, VariantRecord } from "../store/records.js";
import { bytes, change, count, DASH, duration, figure, fixed, times } from "./format.js";
import { baselineOf, saving, type Timings } from "./performance.js";
import type { Environment, MemoryRow, MemoryTable, PerformanceRow } from "./view-model.js";

/** A stored ISO time as people read it, in UTC: "2026-01-31 07:01:43 UTC". */
export function readableTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

export function performanceRows(run: RunRecord, timings: Map<string, Timings>): PerformanceRow[] {
  const base = baselineOf(run);
  const bt = base ? timings.get(base.name) : undefined;
  return run.variants.map((v) => {
    const t = timings.get(v.name);
    const vs = (x: number | undefined, b: number | undefined) =>
      !v.isBaseline && x !== undefined && b !== undefined && Number.isFinite(x) && b > 0
        ? x / b
        : null;
    const ttftRatio = vs(t?.ttft.p50, bt?.ttft.p50);
    const decodeRatio = vs(t?.decodeTpsP50, bt?.decodeTpsP50);
    return {
      variant: v.name,
      baseline: v.isBaseline,
      failed: v.status === "failed",
      generations: t?.generations ? fixed(t.generations, 0) : DASH,
      ttftP50: figure(t?.ttft.p50),
      ttftP90: figure(t?.ttft.p90),
      ttftP99: figure(t?.ttft.p99),
      ttftVsBaseline: ttftRatio === null ? null : change(ttftRatio - 1),
      prefillTps: figure(t?.prefillTpsP50),
      decodeTps: figure(t?.decodeTpsP50),
      decodeVsBaseline: decodeRatio === null ? null : times(decodeRatio),
      e2eP50: figure(t?.e2e.p50),
      e2eP90: figure(t?.e2e.p90),
      e2eP99: figure(t?.e2e.p99),
    };
  });
}

const NOTE_LABELS: Record<string, string> = {
  peakRss: "peak RSS",
  engineDevice: "engine device memory",
  device: "device peak",
  processDevice: "process device peak",
  energy: "energy",
};

/**
 * Why figures are missing, as sentences: the stored notes are a JSON object (figure → reason),
 * and figures that share a reason share a line ("device peak, process device peak: no GPU here").
 */
export function memoryNotes(stored: string | null): string[] {
  if (!stored) return [];
  let notes: unknown;
  try {
    notes = JSON.parse(stored);
  } catch {
    return [stored];
  }
  if (typeof notes !== "object" || notes === null || Array.isArray(notes)) return [stored];
  const byReason = new Map<string, string[]>();
  for (const [key, reason] of Object.entries(notes)) {
    const text = typeof reason === "string" ? reason : JSON.stringify(reason);
    byReason.set(text, [...(byReason.get(text) ?? []), NOTE_LABELS[key] ?? key]);
  }
  return [...byReason].map(([reason, figures]) => `${figures.join(", ")}: ${reason}`);
}

/** `deviceBytes`: the budget capacity is shown against (the plan's budgets.deviceBytes). */
export function memoryTable(run: RunRecord, deviceBytes?: number): MemoryTable {
  const base = baselineOf(run);
  const saved = (v: VariantRecord, f: (x: VariantRecord) => number | null) => {
    if (v.isBaseline || !base) return null;
    const s = saving(f(v), f(base));
    return s === null ? null : `${change(-s)}`;
  };
  const tensorTypes = (v: VariantRecord) =>
    Object.entries(v.tensorTypes)
      .sort(([, a], [, b]) => b.bytes - a.bytes)
      .map(([type, t]) => `${type} ×${t.count}`)
      .join(", ") || DASH;
  const notes = new Map(run.variants.map((v) => [v.name, memoryNotes(v.memoryNotes)]));
  return {
    hasDevicePeak: run.variants.some((v) => v.devicePeakBytes !== null),
    hasNotes: [...notes.values()].some((n) => n.length > 0),
    hasEngineDevice: run.variants.some((v) => v.engineDeviceBytes !== null),
    hasEngineBuffers: run.variants.some((v) => v.engineKvBytes !== null),
    hasEnergy: run.variants.some((v) => v.energyJoules !== null),
    capacityBudget: capacityBudget(run, deviceBytes),
    rows: run.variants.map((v) => ({
      variant: v.name,
      baseline: v.isBaseline,
      failed: v.status === "failed",
      modelSize: bytes(v.modelBytes),
      modelSaving: saved(v, (x) => x.modelBytes),
      bitsPerWeight: fixed(v.bitsPerWeight, 2),
      parameters: count(v.parameterCount),
      peakRss: bytes(v.peakRssBytes),
      peakRssSaving: saved(v, (x) => x.peakRssBytes),
      engineDevice: bytes(v.engineDeviceBytes),
      engineDeviceSaving: saved(v, (x) => x.engineDeviceBytes),
      devicePeak: bytes(v.devicePeakBytes),
      devicePeakSaving: saved(v, (x) => x.devicePeakBytes),
      processDevicePeak: bytes(v.processDevicePeakBytes),
      kvCache: `${v.kvCacheK ?? "f16"} / ${v.kvCacheV ?? "f16"}`,
      engineKv: bytes(v.engineKvBytes),
      engineKvSaving: saved(v, (x) => x.engineKvBytes),
      engineCompute: bytes(v.engineComputeBytes),
      ...energyCells(v),
      capacity: capacityCell(v, deviceBytes),
      loadTime: duration(v.loadMs),
      tensorTypes: tensorTypes(v),
      notes: notes.get(v.name) ?? [],
    })),
  };
}

export function environment(run: RunRecord): Environment {
  const p = run.provenance;
  const text = (x: string | number | null | undefined) =>
    x === null || x === undefined || x === "" ? DASH : String(x);
  const shards = Number(p.shard_count ?? 1);
  return {
    run: [
      { label: "plan", value: run.planName },
      { label: "plan file", value: run.planFile },
      { label: "plan hash", value: run.planHash.slice(0, 16) },
      { label: "status", value: run.status },
      { label: "started", value: readableTime(run.startedAt) },
      { label: "finished", value: run.finishedAt ? readableTime(run.finishedAt) : DASH },
      { label: "resumed", value: `${run.resumedCount} time${run.resumedCount === 1 ? "" : "s"}` },
      ...(shards > 1
        ? [{ label: "shard", value: `${Number(p.shard_index) + 1} of ${shards}` }]
        : []),
      { label: "host", value: text(p.host) },
      { label: "platform", value: text(p.platform) },
      { label: "CPU", value: `${text(p.cpu)} (${text(p.cpu_cores)} cores)` },
      { label: "memory", value: bytes(p.memory_bytes as number | null) },
      { label: "GPU", value: text(p.gpu) },
      { label: "GPU driver", value: text(p.gpu_driver) },
      { label: "Node.js", value: text(p.node_version) },
      { label: "qbench", value: text(p.qbench_version) },
      {
        label: "git commit",
        value:
          p.git_commit === null ? DASH : `${p.git_commit}${p.git_dirty === 1 ? " (dirty)" : ""}`,
      },
    ],
    variants: run.variants.map((v) => ({
      variant: v.name,
      status: v.status,
      backend: v.backend
        ? `${v.backend} (asked ${v.backendRequested})`
        : `— (asked ${v.backendRequested})`,
      device: text(v.device),
      runner: `${v.runner}${v.runnerVersion ? ` ${v.runnerVersion}` : ""}`,
      engine: text(v.engine),
      threads:
        // A count the plan set needs no reason; auto's measured or rule-based choice says why.
        v.threadsReason && !v.threadsReason.startsWith("plan sets")
          ? `${fixed(v.threads, 0)} (${v.threadsReason})`
          : fixed(v.threads, 0),
      context:
        v.engineContextSize === null || v.engineContextSize === v.contextSize
          ? fixed(v.contextSize, 0)
          : `${fixed(v.contextSize, 0)} (engine allocated ${fixed(v.engineContextSize, 0)})`,
      load: duration(v.loadMs),
      model: v.modelPath,
      sha256: v.modelSha256.slice(0, 12),
      error: v.error,
      stderrTail: v.stderrTail,
    })),
  };
}

function energyCells(
  v: VariantRecord,
): Pick<MemoryRow, "energyPerToken" | "meanWatts" | "energySource"> {
  const joules = v.energyJoules;
  if (joules === null) return { energyPerToken: DASH, meanWatts: DASH, energySource: DASH };
  const tokens = v.energyTokens ?? 0;
  const seconds = v.energySeconds ?? 0;
  return {
    energyPerToken: tokens > 0 ? `${fixed(joules / tokens, 3)} J` : DASH,
    meanWatts: seconds > 0 ? `${fixed(joules / seconds, 1)} W` : DASH,
    energySource: v.energySource ?? DASH,
  };
}

/** What the budget holds for this variant: sequences at the plan's context, and the longest context. */
function capacityCell(v: VariantRecord, deviceBytes: number | undefined): string {
  const budget = deviceBytes ?? v.engineDeviceTotalBytes ?? undefined;
  if (budget === undefined) return DASH;
  const c = measuredCapacity(v, budget);
  if (!c) return DASH;
  return `${c.concurrentAtContext} × ${v.engineContextSize ?? "?"} · max ${count(c.maxContext)}`;
}

/** The budget capacity is shown in: the plan's, else the device's total the engine reported. */
function capacityBudget(run: RunRecord, deviceBytes: number | undefined): string | null {
  if (deviceBytes !== undefined) return bytes(deviceBytes);
  const total = run.variants.find((v) => v.engineDeviceTotalBytes !== null)?.engineDeviceTotalBytes;
  return total == null ? null : `${bytes(total)} (the device's total)`;
}
