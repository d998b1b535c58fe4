import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { change, clip, fixed } from "../../src/report/format.js";
import { jsonForScript } from "../../src/report/json-script.js";
import { xmlAttribute, xmlText } from "../../src/report/junit.js";
import { markdownCell } from "../../src/report/markdown.js";
import { HOSTILE } from "./hostile.js";
import { parseXml } from "./xml.js";

describe("escaping of untrusted text", () => {
  it("inline JSON has no <, >, &, U+2028/9 and parses back to the same strings", () => {
    const value = { outputs: HOSTILE, nested: [{ text: "</script><!--" }] };
    const json = jsonForScript(value);
    assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
    assert.doesNotMatch(json.toLowerCase(), /<\/script|<!--/);
    assert.deepEqual(JSON.parse(json), value);
  });

  it("Markdown cells cannot end the cell, the row or open HTML", () => {
    for (const text of [...HOSTILE, "a | b\nc", "x`y`*z*"]) {
      const cell = markdownCell(text);
      assert.doesNotMatch(cell, /[<>\n\r]/);
      assert.equal(cell.split(/(?<!\\)\|/).length, 1, cell.slice(0, 80));
    }
  });

  it("XML text and attributes parse back to the same text, minus characters XML forbids", () => {
    const forbidden = ["\u0000", "\u001b", "\uFFFF", "\uD800"];
    const nasty = `${HOSTILE.join("\n")}${forbidden.join("[31m")} tab\tend`;
    const doc = parseXml(`<a b="${xmlAttribute(nasty)}">${xmlText(nasty)}</a>`);
    const expected = `${HOSTILE.join("\n")}${forbidden.map(() => "\uFFFD").join("[31m")} tab\tend`;
    assert.equal(doc.attributes.b, expected);
    assert.equal(doc.text, expected);
  });

  it("the test's XML parser rejects what is not well-formed (so passing it means something)", () => {
    for (const bad of [
      "<a>x<b></a>",
      "<a b='1' b='2'/>",
      "<a>1 < 2</a>",
      "<a>&nope</a>",
      "<a/><b/>",
    ])
      assert.throws(() => parseXml(bad), Error, bad);
  });

  it("formats numbers without locale: real minus signs, fixed separators, clipped text says so", () => {
    assert.equal(fixed(-1234567.891, 2), "−1,234,567.89");
    assert.equal(change(-0.0123), "−1.2 %");
    assert.equal(change(0.5), "+50.0 %");
    assert.equal(change(0), "0.0 %");
    const clipped = clip("😀".repeat(10), 5);
    assert.match(clipped, /^😀😀… \[16 more characters not shown\]$/);
  });
});
