import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, hostname, platform, release, totalmem } from "node:os";
import type { Provenance } from "../store/store.js";

function tryRun(file: string, args: string[], cwd?: string): string | null {
  try {
    return execFileSync(file, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5000,
    }).trim();
  } catch {
    return null;
  }
}

export function qbenchVersion(): string {
  const path = new URL("../../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
}

/** Where and with what a run ran: host, CPU, GPU and driver where present, git commit of the plan's repo. */
export function collectProvenance(planDir: string): Provenance {
  const smi = tryRun("nvidia-smi", ["--query-gpu=name,driver_version", "--format=csv,noheader"]);
  const gpus = smi ? smi.split("\n").map((line) => line.split(",").map((s) => s.trim())) : [];
  const commit = tryRun("git", ["rev-parse", "HEAD"], planDir);
  const dirty =
    commit === null ? null : (tryRun("git", ["status", "--porcelain"], planDir) ?? "") !== "";
  return {
    qbenchVersion: qbenchVersion(),
    nodeVersion: process.version,
    host: hostname(),
    platform: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? "unknown",
    cpuCores: cpus().length,
    memoryBytes: totalmem(),
    gpu: gpus.length > 0 ? gpus.map((g) => g[0]).join("; ") : null,
    gpuDriver: gpus[0]?.[1] ?? null,
    gitCommit: commit,
    gitDirty: dirty,
  };
}
