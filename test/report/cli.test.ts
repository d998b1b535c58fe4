import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { tempDir } from "../support/cli.js";
import { checkJunit, parseMarkdownTable } from "./ci-formats.js";
import { qbenchWithEnv, writeReportPlan } from "./real-run.js";

/** Pixels of a PNG that differ from its top-left (background) pixel. */
async function drawnPixels(
  file: string,
): Promise<{ width: number; height: number; drawn: number }> {
  const image = await loadImage(readFileSync(file));
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  const { data } = ctx.getImageData(0, 0, image.width, image.height);
  let drawn = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) drawn++;
  }
  return { width: image.width, height: image.height, drawn };
}

describe("qbench run and qbench report (real runs on stories260K, one variant's runner failing to load)", () => {
  let dir: string;
  let db: string;
  let run: { exitCode: number; stdout: string; stderr: string };
  const stepSummary = () => join(dir, "step-summary.md");

  before(async () => {
    dir = tempDir();
    db = join(dir, "runs.db");
    writeFileSync(stepSummary(), "");
    run = await qbenchWithEnv(
      [
        "run",
        writeReportPlan(dir),
        "--db",
        db,
        "--quiet",
        "--summary",
        join(dir, "run.md"),
        "--junit",
        join(dir, "run.xml"),
      ],
      { GITHUB_STEP_SUMMARY: stepSummary() },
    );
  });

  it("qbench run writes the report beside the database, and the summary and JUnit asked for", () => {
    assert.equal(run.exitCode, 1, `the failed variant is NO-SHIP\n${run.stderr}`);
    assert.match(run.stdout, /wrote .*report-1\.html/);
    assert.ok(existsSync(join(dir, "report-1.html")));
    const html = readFileSync(join(dir, "report-1.html"), "utf8");
    assert.match(html, /<span class="variant-name">oom<\/span>/);
    assert.match(html, /failed to run/);
    assert.match(html, /cannot allocate the model \(test runner\)/);
    const table = parseMarkdownTable(readFileSync(join(dir, "run.md"), "utf8"));
    assert.deepEqual(
      table.rows.map((r) => r[1]),
      ["✅ SHIP", "✅ SHIP", "❌ NO-SHIP", "❌ NO-SHIP"],
    );
    assert.match(table.rows[3]?.[5] ?? "", /^failed to run: runner did not load the model/);
    assert.equal(
      readFileSync(stepSummary(), "utf8"),
      `${readFileSync(join(dir, "run.md"), "utf8")}\n`,
    );
    const junit = checkJunit(readFileSync(join(dir, "run.xml"), "utf8"));
    assert.deepEqual(
      junit.suites.map((s) => s.attributes.name),
      ["fp16", "q8_0", "q4_0", "oom"],
    );
    const failed = junit.cases.filter((c) => c.failure).map((c) => `${c.suite}: ${c.name}`);
    assert.ok(failed.includes("q4_0: perplexity · ppl_ratio on stories-ppl"), failed.join("\n"));
    assert.ok(failed.includes("oom: failures · status"), failed.join("\n"));
  });

  it("qbench report re-renders the stored run byte for byte, however often", async () => {
    for (const out of ["again.html", "once-more.html"]) {
      const r = await qbenchWithEnv(["report", "--db", db, "--run", "1", "--out", join(dir, out)]);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok(readFileSync(join(dir, out)).equals(readFileSync(join(dir, "report-1.html"))), out);
    }
  });

  it("--summary=- prints the Markdown table, --junit and --png write their files", async () => {
    const r = await qbenchWithEnv([
      "report",
      "--db",
      db,
      "--summary=-",
      "--junit",
      join(dir, "report.xml"),
      "--png",
      join(dir, "png"),
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(parseMarkdownTable(r.stdout).rows.length, 4);
    assert.equal(
      readFileSync(join(dir, "report.xml"), "utf8"),
      readFileSync(join(dir, "run.xml"), "utf8"),
    );
    const pngs = readdirSync(join(dir, "png")).sort();
    assert.deepEqual(pngs, ["latency.png", "memory.png", "quality-size.png", "speed.png"]);
    for (const png of pngs) {
      const { width, height, drawn } = await drawnPixels(join(dir, "png", png));
      assert.deepEqual([width, height], [1800, 960], png);
      assert.ok(drawn > 20_000, `${png}: ${drawn} pixels drawn`);
    }
  });

  it("says what is wrong with its input (exit 2)", async () => {
    const missing = await qbenchWithEnv(["report", "--db", join(dir, "nope.db")]);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /no such database/);
    const noRun = await qbenchWithEnv(["report", "--db", db, "--run", "42"]);
    assert.equal(noRun.exitCode, 2);
    assert.match(noRun.stderr, /run 42 not found/);
  });
});
