import assert from "node:assert/strict";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import type { Browser, Page } from "playwright-core";
import { openDatabase } from "../../src/store/database.js";
import { tempDir } from "../support/cli.js";
import { launchChromium } from "./chromium.js";
import { checkJunit, parseMarkdownTable } from "./ci-formats.js";
import { HOSTILE, INVALID_UTF8_HEX } from "./hostile.js";
import { qbenchWithEnv, writeReportPlan } from "./real-run.js";
import { writeSyntheticRun } from "./synthetic-run.js";

interface Opened {
  page: Page;
  /** Console errors and warnings, uncaught exceptions (a CSP violation is a console error). */
  problems: string[];
  /** Every request other than the report file itself; each is refused. */
  requests: string[];
}

const HOSTILE_NAME = `q4"><img src=x onerror="window.__pwned='name'">`;

/** Writes hostile text into a stored run: outputs, prompts, references, an error, a name. */
function poison(file: string, runId: number): void {
  const db = new Database(file);
  const id = (name: string) =>
    (
      db.prepare("SELECT id FROM variants WHERE run_id = ? AND name = ?").get(runId, name) as {
        id: number;
      }
    ).id;
  const q8 = id("q8_0");
  const results = db
    .prepare(
      "SELECT id, item_id FROM results WHERE variant_id = ? AND suite_id = 'cloze' ORDER BY item_id",
    )
    .all(q8) as Array<{ id: number; item_id: string }>;
  results.forEach((r, i) => {
    db.prepare("UPDATE results SET output = ? WHERE id = ?").run(HOSTILE[i % HOSTILE.length], r.id);
    db.prepare(
      "UPDATE items SET prompt = ?, reference = ? WHERE run_id = ? AND suite_id = 'cloze' AND item_id = ?",
    ).run(HOSTILE[(i + 1) % HOSTILE.length], HOSTILE[(i + 2) % HOSTILE.length], runId, r.item_id);
  });
  // Every cloze item now disagrees with the baseline, so every hostile output is listed.
  db.prepare(
    "UPDATE metrics SET value = 1 - value WHERE name = 'exact_match' AND result_id IN (SELECT id FROM results WHERE variant_id = ?)",
  ).run(q8);
  db.prepare(
    `UPDATE results SET output = CAST(X'${INVALID_UTF8_HEX}' AS TEXT) WHERE variant_id = ? AND suite_id = 'cloze'`,
  ).run(id("q4_0"));
  db.prepare(
    "UPDATE metrics SET value = 0 WHERE name = 'exact_match' AND result_id IN (SELECT id FROM results WHERE variant_id = ?)",
  ).run(id("q4_0"));
  db.prepare("UPDATE variants SET error = ?, stderr_tail = ? WHERE id = ?").run(
    `${HOSTILE[1]} ${HOSTILE[3]}`,
    HOSTILE.join("\n"),
    id("oom"),
  );
  db.prepare("UPDATE suites SET description = ? WHERE run_id = ?").run(HOSTILE[4], runId);
  db.prepare("UPDATE variants SET name = ? WHERE id = ?").run(HOSTILE_NAME, id("q4_0"));
  db.close();
}

describe("the HTML report in a real headless Chromium (real runs on stories260K)", () => {
  let browser: Browser;
  let dir: string;

  const open = async (file: string, javaScript = true): Promise<Opened> => {
    const context = await browser.newContext({
      javaScriptEnabled: javaScript,
      viewport: { width: 1280, height: 900 },
    });
    const url = pathToFileURL(file).href;
    const problems: string[] = [];
    const requests: string[] = [];
    await context.route("**/*", (route) => {
      if (route.request().url() === url) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(url);
    if (javaScript)
      await page.waitForFunction(() => document.documentElement.dataset.ready === "true");
    return { page, problems, requests };
  };

  /** Per canvas: how many pixels differ from its first pixel (the painted background). */
  const drawnPixels = (page: Page) =>
    page.$$eval("canvas", (canvases) =>
      canvases.map((c) => {
        const { data } = (c as HTMLCanvasElement)
          .getContext("2d")
          ?.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height) ?? {
          data: new Uint8ClampedArray(),
        };
        let drawn = 0;
        for (let i = 0; i < data.length; i += 4)
          if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) drawn++;
        return { id: c.id, drawn };
      }),
    );

  before(async () => {
    dir = tempDir();
    const plan = writeReportPlan(dir);
    const db = join(dir, "runs.db");
    // Two runs of the plan, so the history charts have a line to draw.
    for (const _ of [1, 2]) {
      const run = await qbenchWithEnv(["run", plan, "--db", db, "--quiet", "--no-report"]);
      assert.equal(run.exitCode, 1, run.stderr);
    }
    const report = await qbenchWithEnv(["report", "--db", db, "--out", join(dir, "report.html")]);
    assert.equal(report.exitCode, 0, report.stderr);
    copyFileSync(db, join(dir, "hostile.db"));
    poison(join(dir, "hostile.db"), 2);
    const hostile = await qbenchWithEnv([
      "report",
      "--db",
      join(dir, "hostile.db"),
      "--out",
      join(dir, "hostile.html"),
      "--junit",
      join(dir, "hostile.xml"),
      "--summary",
      join(dir, "hostile.md"),
      "--disagreement-cap",
      "500",
    ]);
    assert.equal(hostile.exitCode, 0, hostile.stderr);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  it("a real run: no console error, no request, every chart drawn, the verdict table there", async () => {
    const { page, problems, requests } = await open(join(dir, "report.html"));
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, []);
    const canvases = await drawnPixels(page);
    assert.deepEqual(
      canvases.map((c) => c.id),
      [
        "chart-quality-size",
        "chart-speed",
        "chart-latency",
        "chart-memory",
        "chart-history-cloze",
        "chart-history-stories-ppl",
      ],
    );
    for (const c of canvases) assert.ok(c.drawn > 5000, `${c.id}: ${c.drawn} pixels drawn`);
    const rows = await page.$$eval("#verdict-table tbody tr", (trs) =>
      trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, " ")),
    );
    assert.equal(rows.length, 4);
    assert.match(rows[0] ?? "", /^fp16 .*SHIP/);
    assert.match(rows[3] ?? "", /^oom .*NO-SHIP\s*failed to run .*cannot allocate the model/);
    await page.context().close();
  });

  it("hostile model output stays text: no script runs, no element is injected, nothing is fetched", async () => {
    const { page, problems, requests } = await open(join(dir, "hostile.html"));
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, []);
    const listed: string[] = [];
    for (;;) {
      listed.push(
        ...(await page.$$eval("#dis-list pre", (pres) => pres.map((p) => p.textContent ?? ""))),
      );
      if (await page.isDisabled("#dis-next")) break;
      await page.click("#dis-next");
    }
    for (const text of HOSTILE.slice(0, -1))
      assert.ok(listed.includes(text), `shown as text: ${text}`);
    assert.ok(
      listed.some((t) => t.startsWith("A".repeat(2000)) && /more characters not shown/.test(t)),
    );
    assert.ok(
      listed.includes("Hel\uFFFDlo\uFFFD(\uFFFD"),
      "invalid UTF-8 shown with replacement characters",
    );
    await page.fill("#dis-search", "onerror");
    assert.match((await page.textContent("#dis-status")) ?? "", /of \d+ matching/);
    await page.selectOption("#dis-variant", HOSTILE_NAME);
    await page.hover("#dis-list");
    const state = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
      title: document.title,
      injected: document.querySelectorAll("img, svg, iframe, [onerror], [onload], [onmouseover]")
        .length,
      scripts: document.scripts.length,
      name: document.querySelector("#verdict-table tbody tr:nth-child(3) .variant-name")
        ?.textContent,
    }));
    assert.deepEqual(state, {
      pwned: null,
      title: "qbench · test-plan · run 2",
      injected: 0,
      scripts: 2,
      name: HOSTILE_NAME,
    });
    const xml = readFileSync(join(dir, "hostile.xml"), "utf8");
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, "application/xml");
      return {
        error: doc.querySelector("parsererror")?.textContent ?? null,
        message:
          doc.querySelector('testsuite[name="oom"] failure')?.getAttribute("message") ?? null,
      };
    }, xml);
    assert.equal(parsed.error, null);
    assert.equal(parsed.message, `the variant failed: ${HOSTILE[1]} ${HOSTILE[3]}`);
    const junit = checkJunit(xml);
    assert.ok(junit.suites.some((s) => s.attributes.name === HOSTILE_NAME));
    const table = parseMarkdownTable(readFileSync(join(dir, "hostile.md"), "utf8"));
    assert.equal(table.rows.length, 4);
    await page.context().close();
  });

  it("without JavaScript the verdicts, quality and environment are all there", async () => {
    const { page, problems, requests } = await open(join(dir, "report.html"), false);
    assert.deepEqual([problems, requests], [[], []]);
    const text = await page.innerText("#verdict-table");
    assert.match(text, /fp16[\s\S]*SHIP[\s\S]*oom[\s\S]*NO-SHIP/);
    assert.equal(await page.locator("#quality table").count(), 2);
    assert.match(await page.innerText("#environment"), /cannot allocate the model/);
    await page.context().close();
  });

  it("ten variants with one failed, and a single variant, draw every chart without error", async () => {
    for (const [variants, expected] of [
      [10, 4],
      [1, 4],
    ] as const) {
      const file = join(dir, `synthetic-${variants}.db`);
      const db = openDatabase(file);
      writeSyntheticRun(db, {
        variants,
        items: 400,
        failedVariant: variants > 1,
        gates: { resamples: 200 },
      });
      db.close();
      const html = join(dir, `synthetic-${variants}.html`);
      const r = await qbenchWithEnv(["report", "--db", file, "--out", html]);
      assert.equal(r.exitCode, 0, r.stderr);
      const { page, problems, requests } = await open(html);
      assert.deepEqual([problems, requests], [[], []]);
      const canvases = await drawnPixels(page);
      assert.equal(canvases.length, expected);
      for (const c of canvases)
        assert.ok(c.drawn > 5000, `${variants} variants, ${c.id}: ${c.drawn}`);
      assert.equal(await page.locator("#verdict-table tbody tr").count(), variants);
      await page.context().close();
    }
  });
});
