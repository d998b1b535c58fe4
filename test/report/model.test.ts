import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { REPORTS_DIR, renderHtml } from "../../src/report/html.js";
import { renderJunit } from "../../src/report/junit.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { openDatabase } from "../../src/store/database.js";
import { checkJunit, parseMarkdownTable } from "./ci-formats.js";
import { modelOf } from "./model-of.js";
import { writeSyntheticRun } from "./synthetic-run.js";

// Fewer bootstrap resamples than the default keep these verdicts quick; the figures are the same kind.
const QUICK = { inconclusive: "no-ship", resamples: 200 };

describe("the report model and its renderings (synthetic runs written to SQLite)", () => {
  it("ten variants with one failed: every variant has a row, the failed one shows its error", () => {
    const db = openDatabase(":memory:");
    const runId = writeSyntheticRun(db, {
      variants: 10,
      items: 600,
      failedVariant: true,
      gates: QUICK,
    });
    const model = modelOf(db, runId, { disagreementCap: 25 });
    assert.equal(model.verdicts.length, 10);
    assert.equal(model.verdicts[0]?.baseline, true);
    const failed = model.verdicts.at(-1);
    assert.equal(failed?.failed, true);
    assert.equal(failed?.verdict, "NO-SHIP");
    assert.match(failed?.error ?? "", /OUT_OF_MEMORY/);
    assert.equal(model.counts.failed, 1);
    assert.equal(model.performance.at(-1)?.decodeTps, "—");
    for (const table of model.quality) assert.equal(table.rows.length, 10);
    assert.deepEqual(
      model.charts.map((c) => c.id),
      ["quality-size", "speed", "latency", "memory"],
    );
    for (const s of model.disagreements.suites) {
      assert.ok(s.shown <= 25 && s.shown === Math.min(25, s.regressions + s.improvements));
      assert.ok(s.regressions > 0, `${s.suite}: a variant loses items`);
    }
    // Regressions come first, each item with the baseline's and every ran variant's output.
    const qa = model.disagreements.items.filter((i) => i.suite === "qa");
    assert.equal(qa[0]?.kind, "regression");
    assert.equal(qa[0]?.outputs.length, 9);
    assert.equal(qa[0]?.outputs[0]?.change, "baseline");
    assert.ok(qa[0]?.outputs.some((o) => o.change === "worse" && o.score === "✗"));

    const markdown = parseMarkdownTable(renderMarkdown(model));
    assert.equal(markdown.rows.length, 10);
    assert.match(
      markdown.rows.at(-1)?.[5] ?? "",
      /^failed to run: .*OUT\\_OF\\_MEMORY|OUT_OF_MEMORY/,
    );
    const junit = checkJunit(renderJunit(model));
    assert.equal(junit.suites.length, 10);
    const failures = junit.cases.filter((c) => c.failure);
    assert.ok(
      failures.some(
        (c) => c.suite === "iq2_xs" && /OUT_OF_MEMORY/.test(c.failure?.attributes.message ?? ""),
      ),
    );
    for (const v of model.verdicts) {
      const mine = junit.cases.filter((c) => c.suite === v.variant && c.failure);
      assert.equal(mine.length > 0, v.verdict === "NO-SHIP", v.variant);
    }
    db.close();
  });

  it("one variant: the baseline alone still makes a complete report", () => {
    const db = openDatabase(":memory:");
    const runId = writeSyntheticRun(db, { variants: 1, items: 200, gates: QUICK });
    const model = modelOf(db, runId);
    assert.equal(model.verdicts.length, 1);
    assert.equal(model.verdicts[0]?.verdict, "SHIP");
    assert.equal(model.disagreements.items.length, 0);
    assert.ok(model.charts.length >= 3);
    const html = renderHtml(model);
    assert.match(html, /<table class="verdict-table" id="verdict-table">/);
    assert.equal(checkJunit(renderJunit(model)).cases.length, 1);
    db.close();
  });

  it("renders the same database to the same bytes, later too (no time of rendering inside)", async () => {
    const db = openDatabase(":memory:");
    const runId = writeSyntheticRun(db, { variants: 3, items: 300, gates: QUICK });
    const first = renderHtml(modelOf(db, runId));
    await sleep(1100);
    const second = renderHtml(modelOf(db, runId));
    assert.equal(
      createHash("sha256").update(second).digest("hex"),
      createHash("sha256").update(first).digest("hex"),
    );
    db.close();
  });

  it("pins its inline script and style by hash and loads nothing from anywhere", () => {
    const db = openDatabase(":memory:");
    const html = renderHtml(
      modelOf(db, writeSyntheticRun(db, { variants: 2, items: 100, gates: QUICK })),
    );
    db.close();
    const attribute = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
    // Handlebars escapes the attribute; a browser reads it back through these entities.
    const csp = (attribute?.[1] ?? "").replace(/&#x([0-9A-F]+);/gi, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    const hash = (s: string) => `'sha256-${createHash("sha256").update(s).digest("base64")}'`;
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? "");
    assert.equal(scripts.length, 1);
    assert.equal(styles.length, 1);
    assert.ok(csp.includes("default-src 'none'"), csp);
    assert.ok(csp.includes(`script-src ${hash(scripts[0] ?? "")}`), "script hash");
    assert.ok(csp.includes(`style-src ${hash(styles[0] ?? "")}`), "style hash");
    assert.doesNotMatch(html, /<(link|img|iframe|object|embed)\b/i);
    assert.doesNotMatch(html, /\s(src|srcset)=/i);
    for (const m of html.matchAll(/\shref="([^"]*)"/g)) assert.match(m[1] ?? "", /^#/);
  });

  it("uses {{{ }}} only for its own CSS and script, never for model text", () => {
    const files = [
      "report.hbs",
      ...readdirSync(join(REPORTS_DIR, "partials")).map((f) => `partials/${f}`),
    ];
    const raw = files.flatMap((f) =>
      [...readFileSync(join(REPORTS_DIR, f), "utf8").matchAll(/\{\{\{\s*([^}]*?)\s*\}\}\}/g)].map(
        (m) => m[1],
      ),
    );
    assert.deepEqual(raw.sort(), ["css", "script"]);
  });
});
