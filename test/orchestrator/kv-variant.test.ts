import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { writeGqaLlama } from "../../bench/quantize.js";
import { readGguf } from "../../lib/gguf/reader.js";
import { kvCacheBytes, kvCells, kvShapeOf } from "../../src/capacity/kv-cache.js";
import { qbench, tempDir } from "../support/cli.js";
import { model } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

interface Row {
  name: string;
  status: string;
  kv_cache_k: string | null;
  kv_cache_v: string | null;
  engine_kv_bytes: number | null;
  engine_compute_bytes: number | null;
  engine_model_bytes: number | null;
  memory_notes: string;
  engine: string;
}

describe("a variant that changes only the KV cache runs beside the baseline (real llama.cpp runner)", () => {
  const dir = tempDir();
  const gqa = join(dir, "gqa.gguf");
  const db = join(dir, "q.db");
  let result: Awaited<ReturnType<typeof qbench>>;
  before(async () => {
    await writeGqaLlama(gqa, model("llama-2-tiny-random.gguf"));
    const suite = writeClozeSuite(dir, 3);
    const plan = writePlan(
      dir,
      [
        { name: "kvf16", file: gqa },
        { name: "kvq8", file: gqa, extra: "    kvCache: { k: q8_0, v: q8_0 }" },
        { name: "kvq4", file: gqa, extra: "    kvCache: { k: q4_0, v: q4_0 }" },
      ],
      [suite],
      "gates: { budgets: { deviceBytes: 2.0e9, minConcurrentAtContext: 100 } }",
    );
    result = await qbench(["run", plan, "--db", db, "--report", join(dir, "r.html")], {
      timeout: 300_000,
    });
  });

  it("stores each variant's cache types and the engine's KV buffer, equal to the formula", async () => {
    assert.ok([0, 1].includes(result.exitCode), result.stderr);
    const conn = new Database(db, { readonly: true });
    const rows = conn.prepare("SELECT * FROM variants ORDER BY id").all() as Row[];
    conn.close();
    assert.deepEqual(
      rows.map((r) => [r.name, r.status, r.kv_cache_k, r.kv_cache_v]),
      [
        ["kvf16", "complete", "f16", "f16"],
        ["kvq8", "complete", "q8_0", "q8_0"],
        ["kvq4", "complete", "q4_0", "q4_0"],
      ],
    );
    for (const r of rows) {
      // The stored engine tells node-llama-cpp's prebuilt binary from a local build.
      assert.match(
        r.engine,
        /^node-llama-cpp \d+\.\d+\.\d+ \(llama\.cpp [^)]+\), (prebuilt binary|local build)$/,
      );
    }
    const shape = kvShapeOf(await readGguf(gqa));
    for (const r of rows) {
      const kv = { k: r.kv_cache_k ?? "f16", v: r.kv_cache_v ?? "f16" };
      const predicted = kvCacheBytes(shape, kvCells(shape, 256, 256), kv).total;
      assert.ok(
        Math.abs((r.engine_kv_bytes ?? 0) - predicted) <= Math.max(0.02 * predicted, 5243),
        `${r.name}: engine ${r.engine_kv_bytes} vs formula ${predicted}`,
      );
      assert.ok((r.engine_compute_bytes ?? 0) > 0 && (r.engine_model_bytes ?? 0) > 0);
    }
    // q8_0 holds 34 bytes per 32 values, q4_0 18: against f16's 64.
    const [f16 = 0, q8 = 0, q4 = 0] = rows.map((r) => r.engine_kv_bytes ?? 0);
    assert.ok(q8 < f16 && q4 < q8, `${f16} > ${q8} > ${q4}`);
  });

  it("says why there is no energy figure on this machine", () => {
    const conn = new Database(db, { readonly: true });
    const notes = conn.prepare("SELECT memory_notes FROM variants").all() as Row[];
    conn.close();
    for (const n of notes) {
      const parsed = JSON.parse(n.memory_notes) as Record<string, string>;
      // Without a GPU or readable RAPL counters: the reason; with RAPL, a figure instead.
      if (parsed.energy !== undefined) assert.match(parsed.energy, /no GPU power; /);
    }
  });

  it("shows the cache types and the engine's KV and compute buffers in the report", () => {
    const html = readFileSync(join(dir, "r.html"), "utf8");
    assert.match(html, /KV cache K \/ V/);
    assert.match(html, /<td>q8_0 \/ q8_0<\/td>/);
    assert.match(html, /<td>q4_0 \/ q4_0<\/td>/);
    assert.match(html, /engine compute/);
  });

  it("shows what the device budget holds for each cache, and gates it", async () => {
    const html = readFileSync(join(dir, "r.html"), "utf8");
    assert.match(html, /in 1\.86 GiB: sequences × context · longest context/);
    const cells = [...html.matchAll(/<td class="num">(\d+) × 256 · max ([^<]+)<\/td>/g)].map((m) =>
      Number(m[1]),
    );
    assert.equal(cells.length, 3, "a capacity cell per variant");
    const [f16 = 0, q8 = 0, q4 = 0] = cells;
    // The smaller cache holds more sequences in the same memory.
    assert.ok(f16 < q8 && q8 < q4, `${f16} < ${q8} < ${q4}`);
    const gate = await qbench(["gate", "--db", db]);
    assert.match(gate.stdout, /sequences at the plan's context in 2\.0 GB/);
  });
});
