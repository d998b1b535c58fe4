import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_FLOW_DEPTH, tooDeepAt } from "../../src/yaml/depth.js";

describe("flow nesting depth, scanned before parsing", () => {
  it("refuses the bracket that passes the limit, at its offset", () => {
    const text = `a: 1\nb: ${"[".repeat(MAX_FLOW_DEPTH + 1)}`;
    assert.equal(tooDeepAt(text), text.length - 1);
    assert.equal(
      tooDeepAt(`b: ${"[".repeat(MAX_FLOW_DEPTH)}${"]".repeat(MAX_FLOW_DEPTH)}`),
      undefined,
    );
  });

  it("does not count brackets in quotes, comments or balanced siblings", () => {
    const many = "[".repeat(500);
    assert.equal(tooDeepAt(`regex: "${many}"\nother: '${many}'\n# ${many}\n`), undefined);
    assert.equal(tooDeepAt(`x: "\\"${many}"`), undefined);
    assert.equal(tooDeepAt(`x: ${"[1], ".repeat(500)}`), undefined);
    assert.equal(tooDeepAt(`{"a": "it's ${many}"}`), undefined);
  });
});
