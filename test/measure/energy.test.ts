import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  findRaplDomains,
  integratePower,
  PowerTraceEnergy,
  RaplEnergy,
  summarizeEnergy,
} from "../../src/measure/energy.js";
import { parseGpuPower } from "../../src/measure/nvidia-smi.js";
import { ROOT } from "../support/paths.js";

describe("power traces", () => {
  it("integrates by the trapezoid rule between two marks", () => {
    const flat = [
      { t: 0, watts: 100 },
      { t: 1000, watts: 100 },
      { t: 2000, watts: 100 },
    ];
    assert.equal(integratePower(flat, 0, 2000), 200);
    assert.equal(integratePower(flat, 500, 1500), 100);
    // A ramp from 0 to 200 W over 2 s: 200 J; its middle second: 100 J.
    const ramp = [
      { t: 0, watts: 0 },
      { t: 2000, watts: 200 },
    ];
    assert.equal(integratePower(ramp, 0, 2000), 200);
    assert.equal(integratePower(ramp, 500, 1500), 100);
  });

  it("has no figure for a span the trace does not cover", () => {
    const trace = [
      { t: 100, watts: 50 },
      { t: 200, watts: 50 },
    ];
    assert.equal(integratePower(trace, 0, 150), undefined);
    assert.equal(integratePower([], 0, 1), undefined);
  });

  it("gives joules per token and mean watts over the measured generations only", () => {
    const energy = new PowerTraceEnergy("nvidia-smi power.draw");
    for (let t = 0; t <= 10_000; t += 100) energy.add({ t, watts: t < 5000 ? 300 : 30 });
    const spans = [
      { source: energy, from: { t: 1000 }, to: { t: 2000 }, tokens: 100 },
      { source: energy, from: { t: 3000 }, to: { t: 4000 }, tokens: 100 },
    ];
    const summary = summarizeEnergy(spans);
    assert.ok(!("reason" in summary));
    assert.equal(summary?.joules, 600);
    assert.equal(summary?.meanWatts, 300);
    assert.equal(summary?.joulesPerToken, 3);
    assert.equal(summary?.source, "nvidia-smi power.draw");
  });

  it("reads nvidia-smi's power.draw (hand-written fixture in its documented format)", () => {
    const text = readFileSync(join(ROOT, "test/fixtures/nvidia-smi/power.txt"), "utf8");
    assert.deepEqual(parseGpuPower(text), [
      { index: 0, watts: 312.45 },
      { index: 2, watts: 88.1 },
    ]);
  });
});

describe("RAPL counters (a powercap tree written by the test)", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "qbench-rapl-"));
    for (const [zone, name, uj] of [
      ["intel-rapl:0", "package-0", "1000000"],
      ["intel-rapl:1", "package-1", "999000000"],
      ["intel-rapl:0:0", "core", "5"],
    ] as const) {
      await mkdir(join(root, zone));
      await writeFile(join(root, zone, "name"), `${name}\n`);
      await writeFile(join(root, zone, "energy_uj"), `${uj}\n`);
      await writeFile(join(root, zone, "max_energy_range_uj"), "1000000000\n");
    }
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("sums the package zones between marks, across a counter wrap, ignoring subzones", async () => {
    const found = findRaplDomains(root);
    assert.ok("domains" in found, JSON.stringify(found));
    assert.deepEqual(
      found.domains.map((d) => d.name),
      ["package-0", "package-1"],
    );
    const energy = new RaplEnergy(found.domains);
    assert.equal(energy.source, "RAPL package-0 + package-1");
    const from = energy.mark();
    await writeFile(join(root, "intel-rapl:0", "energy_uj"), "3500000\n"); // +2.5 J
    await writeFile(join(root, "intel-rapl:1", "energy_uj"), "500000\n"); // wrapped: +1.5 J
    const to = energy.mark();
    assert.equal(energy.joulesBetween(from, to), 4);
  });

  it("says why when there is no powercap tree", () => {
    const found = findRaplDomains(join(root, "absent"));
    assert.ok("reason" in found && /no .*absent/.test(found.reason));
  });
});

describe("RAPL on this machine", () => {
  const here = findRaplDomains();
  it("measures energy while the CPU works", {
    skip: "reason" in here ? here.reason : false,
  }, () => {
    if (!("domains" in here)) return;
    const energy = new RaplEnergy(here.domains);
    const from = energy.mark();
    let x = 0;
    for (let i = 0; i < 5e7; i++) x += Math.sqrt(i);
    const to = energy.mark();
    assert.ok(x > 0);
    assert.ok((energy.joulesBetween(from, to) ?? 0) > 0);
  });
});
