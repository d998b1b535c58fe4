/** Parsers for `nvidia-smi --format=csv,noheader,nounits` output (memory in MiB). */

const MIB = 1024 * 1024;

export interface GpuMemory {
  index: number;
  usedBytes: number;
  totalBytes: number;
}

/** `--query-gpu=index,memory.used,memory.total`: one line per GPU, e.g. `0, 1234, 81559`. */
export function parseGpuMemory(text: string): GpuMemory[] {
  const out: GpuMemory[] = [];
  for (const line of text.split("\n")) {
    const [index, used, total] = line.split(",").map((s) => s.trim());
    if (index === undefined || used === undefined || total === undefined) continue;
    const i = Number(index);
    const u = Number(used);
    const t = Number(total);
    // "[N/A]" or "[Not Supported]" fields (e.g. on some MIG slices) are skipped, not read as 0.
    if (!Number.isInteger(i) || !Number.isFinite(u) || !Number.isFinite(t)) continue;
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
  for (const line of text.split("\n")) {
    const [pid, used] = line.split(",").map((s) => s.trim());
    const p = Number(pid);
    const u = Number(used);
    if (!Number.isInteger(p) || p <= 0 || !Number.isFinite(u)) continue;
    out.push({ pid: p, usedBytes: u * MIB });
  }
  return out;
}

/** `--query-gpu=name,driver_version,memory.total`: for provenance and doctor. */
export function parseGpuList(
  text: string,
): Array<{ name: string; driver: string; totalBytes: number }> {
  return text
    .split("\n")
    .map((line) => line.split(",").map((s) => s.trim()))
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

/** `--query-gpu=index,power.draw`: board power in watts per GPU; `[N/A]` fields are skipped. */
export function parseGpuPower(text: string): GpuPower[] {
  const out: GpuPower[] = [];
  for (const line of text.split("\n")) {
    const [index, power] = line.split(",").map((s) => s.trim());
    const i = Number(index);
    const w = Number(power);
    if (!Number.isInteger(i) || index === "" || !Number.isFinite(w) || power === "") continue;
    out.push({ index: i, watts: w });
  }
  return out;
}
