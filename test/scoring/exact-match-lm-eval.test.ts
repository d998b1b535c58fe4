import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exactMatch, lmEvalRegexFilter } from "../../src/scoring/exact-match.js";
import { pythonRegex } from "../../src/suites/lm-eval/python-regex.js";
import { ExactMatchOptions } from "../../src/suites/schema.js";

const filter = (pattern: string, group_select = 0) => ({
  ...pythonRegex(pattern),
  group_select,
  fallback: "[invalid]",
});

describe("lm-eval's regex filter and exact_match keywords (gsm8k's, ported from lm_eval/filters/extraction.py)", () => {
  it("takes findall's match at group_select, a multi-group match's first non-empty group, stripped; else the fallback", () => {
    const strict = filter("#### (\\-?[0-9\\.\\,]+)");
    assert.equal(lmEvalRegexFilter("so 3+4 = 7\n#### 7", strict), "7");
    assert.equal(lmEvalRegexFilter("no answer", strict), "[invalid]");
    const flexible = filter("(-?[$0-9.,]{2,})|(-?[0-9]+)", -1);
    assert.equal(lmEvalRegexFilter("first 12 then 5", flexible), "5");
    assert.equal(lmEvalRegexFilter("first 12 then 5 and 300", flexible), "300");
    assert.equal(lmEvalRegexFilter("  the answer  ", filter("answer")), "answer");
  });

  it("translates Python's inline flags and named groups, and refuses what JavaScript lacks", () => {
    assert.deepEqual(pythonRegex("(?s).*#### "), { pattern: ".*#### ", flags: "s" });
    assert.deepEqual(pythonRegex("(?P<n>a)(?P=n)"), { pattern: "(?<n>a)\\k<n>", flags: "" });
    assert.throws(() => pythonRegex("(?x) a b"), /\(\?x\) has no JavaScript equivalent/);
  });

  it("removes regexes_to_ignore from both sides before ignore_case, as exact_match_hf_evaluate", () => {
    const options = ExactMatchOptions.parse({
      ignore_case: true,
      regexes_to_ignore: [",", "\\$", "(?s).*#### ", "\\.$"].map(pythonRegex),
    });
    assert.equal(exactMatch("Work... #### $1,000.", "1000", options), 1);
    assert.equal(exactMatch("#### 999", "1000", options), 0);
    const withFilter = ExactMatchOptions.parse({ filter: filter("#### (\\-?[0-9\\.\\,]+)") });
    assert.equal(exactMatch("blah #### 42", "42", withFilter), 1);
    assert.equal(exactMatch("42", "42", withFilter), 0, "no match gives [invalid]");
  });
});
