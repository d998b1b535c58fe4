import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  cpuKind,
  kindOfCpuFlags,
  kindOfSystemInfo,
  readReference,
  recordedKind,
  referenceFor,
  referenceTarget,
} from "./cpu-reference.js";

const AVX512 =
  "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | AVX512 = 1 | REPACK = 1 |";
const AVX2 = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | REPACK = 1 |";
/** node-llama-cpp 3.22.1's prebuilt on a Sapphire Rapids CPU (its sapphirerapids kernel library). */
const AMX =
  "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 1 | " +
  "AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | REPACK = 1 |";
const here = cpuKind();
/** A system_info line for a kind that is not this machine's. */
const elsewhere = here === "avx512" ? AVX2 : AVX512;
const INFO = { amx: AMX, avx512: AVX512, avx2: AVX2, other: "CPU : SSE3 = 1 |" } as const;
const hereInfo = INFO[here];

describe("references per CPU kind (cpu-reference.ts)", () => {
  const root = mkdtempSync(join(tmpdir(), "qbench-cpu-reference-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const folder = (files: Record<string, unknown>) => {
    const dir = join(root, String(n++));
    mkdirSync(dir);
    for (const [name, value] of Object.entries(files)) {
      writeFileSync(join(dir, name), JSON.stringify(value));
    }
    return dir;
  };

  it("reads the kind from system_info lines and JSON fields", () => {
    assert.equal(kindOfSystemInfo(AVX512), "avx512");
    assert.equal(kindOfSystemInfo(AVX2), "avx2");
    assert.equal(kindOfSystemInfo(AMX), "amx");
  });

  it("reads the kind from /proc/cpuinfo flags as ggml picks its kernel library", () => {
    const zen4 = "fpu sse4_2 avx avx2 fma f16c bmi2 avx512f avx512vbmi avx512_vnni avx512_bf16";
    assert.equal(kindOfCpuFlags(`${zen4} amx_bf16 amx_tile amx_int8`), "amx");
    assert.equal(kindOfCpuFlags(zen4), "avx512");
    // AMX without the rest of the sapphirerapids set does not get that library.
    assert.equal(kindOfCpuFlags("avx2 avx512f amx_tile amx_int8"), "avx512");
    assert.equal(kindOfCpuFlags("fpu sse4_2 avx avx2 fma"), "avx2");
    assert.equal(kindOfCpuFlags("fpu neon"), "other");
    assert.equal(kindOfSystemInfo("CPU : NEON = 1 | ARM_FMA = 1 |"), "other");
    assert.equal(recordedKind(JSON.stringify({ system_info: AVX2 })), "avx2");
    assert.equal(recordedKind(`system_info: n_threads = 1 | ${AVX512}`), "avx512");
    assert.equal(recordedKind(JSON.stringify({ made_by: "x" })), undefined);
  });

  it("picks <name>.<kind>.json for this kind, else the base file when it is this kind's or says nothing", () => {
    const own = folder({
      "r.json": { v: 1, system_info: elsewhere },
      [`r.${here}.json`]: { v: 2 },
    });
    assert.equal(referenceFor(own, "r.json", "s.mjs"), join(own, `r.${here}.json`));
    assert.deepEqual(readReference(own, "r.json", "s.mjs"), { v: 2 });
    const silent = folder({ "r.json": { v: 1 } });
    assert.equal(referenceFor(silent, "r.json", "s.mjs"), join(silent, "r.json"));
    const same = folder({ "r.json": { v: 1, system_info: hereInfo } });
    assert.equal(referenceFor(same, "r.json", "s.mjs"), join(same, "r.json"));
  });

  it("throws, naming the script and the file to write, when the base file was made on another kind", () => {
    const other = folder({ "r.json": { v: 1, system_info: elsewhere } });
    assert.throws(
      () => referenceFor(other, "r.json", "scripts/make-r.mjs"),
      (e: Error) =>
        e.message.includes("scripts/make-r.mjs") &&
        e.message.includes(join(other, `r.${here}.json`)),
    );
  });

  it("a make script writes the base file only when it is missing or this kind's; else <name>.<kind>.json", () => {
    const empty = folder({});
    assert.equal(referenceTarget(empty, "r.json"), join(empty, "r.json"));
    const same = folder({ "r.json": { system_info: hereInfo } });
    assert.equal(referenceTarget(same, "r.json"), join(same, "r.json"));
    for (const base of [{ system_info: elsewhere }, { made_by: "no system_info" }]) {
      const dir = folder({ "r.json": base });
      assert.equal(referenceTarget(dir, "r.json"), join(dir, `r.${here}.json`));
      process.env.QBENCH_REFERENCE_BASE = "1";
      try {
        assert.equal(referenceTarget(dir, "r.json"), join(dir, "r.json"));
      } finally {
        delete process.env.QBENCH_REFERENCE_BASE;
      }
    }
  });
});
