import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { combineFigures, MemorySampler } from "../../src/measure/memory-sampler.js";
import { parseComputeApps, parseGpuList, parseGpuMemory } from "../../src/measure/nvidia-smi.js";
import { tempDir } from "../support/cli.js";
import { ROOT } from "../support/paths.js";

const MIB = 1024 * 1024;
const fixture = (name: string) =>
  readFileSync(join(ROOT, "test/fixtures/nvidia-smi", name), "utf8");

describe("memory sampler on real processes", () => {
  it("sees a child that allocates 300 MiB in its peak RSS (VmHWM), within tolerance", async () => {
    const child = execa(
      process.execPath,
      [
        "-e",
        "const b = Buffer.alloc(300 * 1024 * 1024, 1); console.log('allocated'); setTimeout(() => b.length, 1500);",
      ],
      { reject: false },
    );
    assert.ok(child.pid);
    const sampler = await MemorySampler.start(child.pid, {
      intervalMs: 50,
      nvidiaSmi: "/nonexistent/nvidia-smi",
    });
    // On a loaded machine the child may take over a second to start: wait for its allocation.
    await new Promise<void>((done) => child.stdout?.once("data", () => done()));
    await sleep(300);
    const figures = await sampler.stop();
    await child;
    const peak = figures.peakRssBytes ?? 0;
    assert.ok(peak > 300 * MIB && peak < 420 * MIB, `peak ${peak / MIB} MiB`);
    assert.ok(figures.samples >= 5);
    // No GPU: the device figures are absent with a reason, never 0.
    assert.equal(figures.devicePeakBytes, undefined);
    assert.match(figures.notes.device ?? "", /no NVIDIA GPU/);
  });

  it("streams device memory from nvidia-smi, subtracts the idle level, and leaves no nvidia-smi behind (stand-in script)", async () => {
    const dir = tempDir();
    const script = join(dir, "nvidia-smi");
    // A stand-in for nvidia-smi: idle 1000 MiB, then 1000 + 700 MiB while "loaded"; -lms streams.
    writeFileSync(
      script,
      [
        "#!/bin/sh",
        'case "$*" in',
        '  *compute-apps*) echo "$QB_PID, 640" ;;',
        '  *-lms*) while true; do echo "0, 1700, 81559"; sleep 0.05; done ;;',
        '  *) echo "0, 1000, 81559" ;;',
        "esac",
      ].join("\n"),
    );
    chmodSync(script, 0o755);
    const child = execa(process.execPath, ["-e", "setTimeout(() => {}, 3000)"], { reject: false });
    assert.ok(child.pid);
    process.env.QB_PID = String(child.pid);
    const sampler = await MemorySampler.start(child.pid, { intervalMs: 50, nvidiaSmi: script });
    await sleep(800);
    const figures = await sampler.stop();
    child.kill();
    await child;
    assert.equal(figures.deviceIdleBytes, 1000 * MIB);
    assert.equal(figures.devicePeakBytes, 700 * MIB);
    assert.equal(figures.processDevicePeakBytes, 640 * MIB);
    await sleep(300);
    const left = await execa("pgrep", ["-f", script], { reject: false });
    assert.equal(left.stdout.trim(), "", "no stand-in nvidia-smi left running");
  });

  it("traces the GPUs' power.draw from the same stream and integrates it over a span (stand-in script)", async () => {
    const dir = tempDir();
    const script = join(dir, "nvidia-smi");
    // Two GPUs drawing 250 W and 50 W (the second without memory change), sampled every 20 ms.
    writeFileSync(
      script,
      [
        "#!/bin/sh",
        'case "$*" in',
        "  *compute-apps*) ;;",
        '  *-lms*) while true; do echo "0, 1700, 81559, 250.00"; echo "1, 10, 81559, 50.00"; sleep 0.02; done ;;',
        '  *) echo "0, 1000, 81559"; echo "1, 10, 81559" ;;',
        "esac",
      ].join("\n"),
    );
    chmodSync(script, 0o755);
    const child = execa(process.execPath, ["-e", "setTimeout(() => {}, 3000)"], { reject: false });
    assert.ok(child.pid);
    const sampler = await MemorySampler.start(child.pid, { intervalMs: 20, nvidiaSmi: script });
    await sleep(400);
    const source = sampler.energySource();
    assert.ok("joulesBetween" in source, JSON.stringify(source));
    const from = source.mark();
    await sleep(300);
    const to = source.mark();
    await sleep(100);
    await sampler.stop();
    child.kill();
    await child;
    assert.equal(source.source, "nvidia-smi power.draw (all GPUs)");
    const joules = source.joulesBetween(from, to) ?? Number.NaN;
    // 300 W over the span between the marks.
    assert.ok(Math.abs(joules - (300 * (to.t - from.t)) / 1000) < 1e-6, `${joules} J`);
  });

  it("says why there is no energy figure on a machine without GPU power or RAPL", async () => {
    const sampler = await MemorySampler.start(process.pid, {
      intervalMs: 50,
      nvidiaSmi: "/nonexistent/nvidia-smi",
    });
    const source = sampler.energySource();
    await sampler.stop();
    if ("reason" in source) assert.match(source.reason, /no GPU power; /);
    else assert.match(source.source, /^RAPL /, "RAPL is readable here");
  });

  it("keeps the largest figure over runner restarts", () => {
    const combined = combineFigures([
      { peakRssBytes: 5, samples: 2, notes: { a: "x" } },
      { peakRssBytes: 9, devicePeakBytes: 3, samples: 1, notes: {} },
    ]);
    assert.deepEqual(combined, {
      peakRssBytes: 9,
      devicePeakBytes: 3,
      samples: 3,
      notes: { a: "x" },
    });
  });
});

describe("nvidia-smi parsers (hand-written fixtures in nvidia-smi's documented csv format, not captured)", () => {
  it("reads per-GPU memory, skipping [N/A] fields", () => {
    assert.deepEqual(parseGpuMemory(fixture("query-gpu.txt")), [
      { index: 0, usedBytes: 1043 * MIB, totalBytes: 81559 * MIB },
      { index: 1, usedBytes: 9 * MIB, totalBytes: 81559 * MIB },
    ]);
  });
  it("reads per-process memory and the GPU list", () => {
    assert.deepEqual(parseComputeApps(fixture("compute-apps.txt")), [
      { pid: 4242, usedBytes: 8120 * MIB },
      { pid: 5151, usedBytes: 512 * MIB },
    ]);
    assert.deepEqual(parseGpuList(fixture("gpu-list.txt")), [
      { name: "NVIDIA H100 80GB HBM3", driver: "580.82.07", totalBytes: 81559 * MIB },
    ]);
  });
});
