/** Parsers for `nvidia-smi --format=csv,noheader,nounits` output (memory in MiB). */

const MIB = 1024 * 1024;

/** The lines' comma-separated fields, trimmed. */
function rows(text: string): string[][] {
  return text.split("\n").map((line) => line.split(",").map((s) => s.trim()));
}

/**
 * A field as a number; undefined when empty or not a number ("[N/A]", "[Not Supported]" on some
 * boards and MIG slices), so a missing figure is skipped, never read as 0.
 */
function numberField(field: string | undefined): number | undefined {
  if (field === undefined || field === "") return undefined;
  const n = Number(field);
  return Number.isFinite(n) ? n : undefined;
}

export interface GpuMemory {
  index: number;
  usedBytes: number;
  totalBytes: number;
}

/** `--query-gpu=index,memory.used,memory.total`: one line per GPU, e.g. `0, 1234, 81559`. */
export function parseGpuMemory(text: string): GpuMemory[] {
  const out: GpuMemory[] = [];
  for (const [index, used, total] of rows(text)) {
    const i = numberField(index);
    const u = numberField(used);
    const t = numberField(total);
    if (i === undefined || !Number.isInteger(i) || u === undefined || t === undefined) continue;
    out.push({ index: i, usedBytes: u * MIB, totalBytes: t * MIB });
  }
  return out;
}

export interface ProcessGpuMemory {
  pid: number;
  usedBytes: number;
}

/** `--query-compute-apps=pid,used_memory`: one line per process on any GPU, e.g. `4242, 8120`. */
export function parseComputeApps(text: string): ProcessGpuMemory[] {
  const out: ProcessGpuMemory[] = [];
  for (const [pid, used] of rows(text)) {
    const p = numberField(pid);
    const u = numberField(used);
    if (p === undefined || !Number.isInteger(p) || p <= 0 || u === undefined) continue;
    out.push({ pid: p, usedBytes: u * MIB });
  }
  return out;
}

/** `--query-gpu=name,driver_version,memory.total`: for provenance and doctor. */
export function parseGpuList(
  text: string,
): Array<{ name: string; driver: string; totalBytes: number }> {
  return rows(text)
    .filter((f) => f.length >= 3 && f[0])
    .map(([name, driver, total]) => ({
      name: name ?? "",
      driver: driver ?? "",
      totalBytes: Number(total) * MIB,
    }));
}

export interface GpuPower {
  index: number;
  watts: number;
}

/** `--query-gpu=index,…,power.draw`: board power in watts per GPU, power.draw in `column`. */
export function parseGpuPower(text: string, column = 1): GpuPower[] {
  const out: GpuPower[] = [];
  for (const fields of rows(text)) {
    const i = numberField(fields[0]);
    const w = numberField(fields[column]);
    if (i === undefined || !Number.isInteger(i) || w === undefined) continue;
    out.push({ index: i, watts: w });
  }
  return out;
}
