/**
 * The checked case of docs/sensitivity.md: the demo model with one layer made fragile (outliers
 * in every block of its matrices). `qbench sensitivity` must rank that layer first by a clear
 * margin, and `qbench mix` must keep it at the higher precision. Real runner, real quantizer.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { readGguf } from "../../lib/gguf/reader.js";
import { qbench, tempDir } from "../support/cli.js";
import { demoCalibrationText, writeFragileDemo } from "../support/fragile-model.js";

interface Group {
  group: string;
  mean_kld: number;
  mean_kld_error: number;
}

const FRAGILE = 1;

describe("sensitivity and mix on the demo model with a fragile layer", () => {
  const dir = tempDir("qbench-fragile-");
  const model = join(dir, "fragile-f16.gguf");
  const calib = join(dir, "calib.txt");
  const db = join(dir, "qbench.db");
  const common = ["--ctx", "128", "--chunks", "8", "--backend", "cpu", "--threads", "1"];
  const common2 = [...common, "--db", db, "--out-dir", join(dir, "pages"), "--by", "layer"];
  let sensitivity: {
    id: number;
    html: string;
    png: string[];
    groups: Group[];
    kld_is_bound: boolean;
    baseline_mass_covered: number;
  };

  before(async () => {
    await writeFragileDemo(model, FRAGILE);
    writeFileSync(calib, demoCalibrationText());
    const out = await qbench(["sensitivity", model, calib, "--type", "q4_k", ...common2]);
    assert.equal(out.exitCode, 0, out.stderr);
    sensitivity = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "");
    assert.match(out.stderr, /\[5\/5\] Q4_K .*ETA 0s/);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("ranks the fragile layer first, its KLD's interval clear of the runner-up's and over 3× it", () => {
    const [first, second] = sensitivity.groups;
    assert.ok(first && second);
    assert.equal(first.group, `blk.${FRAGILE}`, JSON.stringify(sensitivity.groups));
    assert.equal(sensitivity.groups.length, 5, "4 layers and the (tied) token embedding");
    const low = first.mean_kld - 1.96 * first.mean_kld_error;
    const high = second.mean_kld + 1.96 * second.mean_kld_error;
    assert.ok(low > high, `intervals overlap: ${JSON.stringify([first, second])}`);
    assert.ok(first.mean_kld > 3 * second.mean_kld, JSON.stringify([first, second]));
    // --kld auto: the stored top-512 where it holds ≥ 99.9 % of the mass, else exact.
    assert.equal(sensitivity.kld_is_bound, sensitivity.baseline_mass_covered >= 0.999);
  });

  it("stores the run and its groups, ranked, in the database", () => {
    const d = new Database(db, { readonly: true });
    try {
      const run = d
        .prepare("SELECT * FROM sensitivity_runs WHERE id = ?")
        .get(sensitivity.id) as Record<string, unknown>;
      assert.equal(run.grouping, "layer");
      assert.equal(run.kld_method, sensitivity.kld_is_bound ? "top-k" : "exact");
      assert.equal(run.chunks, 8);
      const rows = d
        .prepare(
          "SELECT group_name, rank, mean_kld FROM sensitivity_groups WHERE sensitivity_id = ? ORDER BY rank",
        )
        .all(sensitivity.id) as { group_name: string; rank: number; mean_kld: number }[];
      assert.deepEqual(
        rows.map((r) => r.group_name),
        sensitivity.groups.map((g) => g.group),
      );
      assert.equal(rows[0]?.mean_kld, sensitivity.groups[0]?.mean_kld);
    } finally {
      d.close();
    }
  });

  it("writes the heat map as HTML under a CSP with no script, and as PNG", () => {
    const html = readFileSync(sensitivity.html, "utf8").replaceAll("&#x27;", "'");
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'sha256-/);
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, new RegExp(`<th>blk\\.${FRAGILE}</th><td class="cell h9"`));
    const png = readFileSync(sensitivity.png[0] ?? "");
    assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
    assert.ok(png.length > 5000);
  });

  it("mix keeps the fragile layer at Q8_0 within the size of Q4_K_M, and writes what it says", async () => {
    const out = join(dir, "mix.gguf");
    const res = await qbench(
      ["mix", model, calib, "--types", "q4_k,q8_0", "--budget", "q4_k_m", "--out", out, ...common2],
      { timeout: 300_000 },
    );
    assert.equal(res.exitCode, 0, res.stderr);
    const mix = JSON.parse(res.stdout.trim().split("\n").at(-1) ?? "");
    const types = Object.fromEntries(
      (mix.groups as { group: string; type: string }[]).map((g) => [g.group, g.type]),
    );
    assert.equal(types[`blk.${FRAGILE}`], "Q8_0", JSON.stringify(types));
    assert.ok(Object.values(types).includes("Q4_K"), "the budget does not fit every layer at Q8_0");
    assert.ok(mix.data_bytes <= mix.budget_data_bytes);
    const file = await readGguf(out);
    const data = file.tensors.reduce((sum, t) => sum + t.byteSize, 0);
    assert.equal(data, mix.data_bytes, "the predicted tensor bytes are the file's");
    for (const t of file.tensors.filter(
      (t) => t.name.startsWith(`blk.${FRAGILE}.`) && t.dims.length > 1,
    )) {
      assert.equal(t.typeName, "Q8_0", t.name);
    }
    assert.match(
      res.stdout,
      /llama-quantize --pure --tensor-type '\^blk\\\.1\\\.attn_k\\\.weight\$=q8_0'/,
    );
    assert.match(res.stdout, /- \{ quantize: q4_k_m, name: q4_k_m \}/);
  });
});
