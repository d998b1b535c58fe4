import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPORTS_DIR } from "../../src/report/html.js";

describe("the viewer's templates escape as the report's do", () => {
  it("use {{{ }}} only for the page's own CSS and script, and load nothing from anywhere", () => {
    const dir = join(REPORTS_DIR, "view");
    const files = [
      ...readdirSync(dir)
        .filter((f) => f.endsWith(".hbs"))
        .map((f) => join(dir, f)),
      join(REPORTS_DIR, "partials/view-nav.hbs"),
    ];
    assert.ok(files.length >= 5, files.join(", "));
    const raw: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      raw.push(...[...text.matchAll(/\{\{\{\s*([^}]*?)\s*\}\}\}/g)].map((m) => m[1] ?? ""));
      assert.doesNotMatch(text, /\s(src|srcset|action)=/i, file);
      for (const m of text.matchAll(/\shref="([^"]*)"/g))
        assert.match(m[1] ?? "", /^(\/|\{\{)/, `${file}: a link stays on the viewer`);
    }
    assert.deepEqual(raw.sort(), ["css", "script"]);
  });
});
