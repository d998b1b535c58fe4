import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseCsv, typeColumn } from "../../src/datasets/csv.js";
import { readTable } from "../../src/datasets/table.js";
import { ROOT } from "../support/paths.js";

const dir = mkdtempSync(join(tmpdir(), "qbench-table-"));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe("dataset files: JSONL, JSON, CSV and Parquet", () => {
  it("parses RFC 4180 CSV: quotes, doubled quotes, newlines in a field, CRLF, the line each record starts on", () => {
    const { header, records } = parseCsv('a,b\r\n1,"x, ""y"""\r\n2,"two\nlines"\n3,\n');
    assert.deepEqual(header, ["a", "b"]);
    assert.deepEqual(records, [
      { fields: ["1", 'x, "y"'], line: 2 },
      { fields: ["2", "two\nlines"], line: 3 },
      { fields: ["3", ""], line: 5 },
    ]);
    assert.throws(() => parseCsv('a\n"open'), /opened on line 2 is never closed/);
  });

  it("types CSV columns as pandas' read_csv does: integers and floats to numbers (empty: null), True/False, else text", () => {
    assert.deepEqual(typeColumn(["1", "-2", ""]), [1, -2, null]);
    assert.deepEqual(typeColumn(["1.5", "2e3"]), [1.5, 2000]);
    assert.deepEqual(typeColumn(["True", "False"]), [true, false]);
    assert.deepEqual(typeColumn(["1", "a"]), ["1", "a"]);
    const rows = readTable(file("t.csv", "q,label\nhi,1\n"));
    assert.deepEqual(rows, [{ row: { q: "hi", label: 1 }, location: `${join(dir, "t.csv")}:2` }]);
    assert.throws(
      () => readTable(file("bad.csv", "a,b\n1\n")),
      /bad\.csv:2: 1 fields where the header has 2/,
    );
  });

  it("reads JSON Lines and a JSON array, naming file and line (or entry) of a bad one", () => {
    assert.equal(readTable(file("a.jsonl", '{"x":1}\n\n{"x":2}\n')).length, 2);
    assert.deepEqual(
      readTable(file("b.json", '[{"x":1},{"x":2}]')).map((r) => r.row.x),
      [1, 2],
    );
    assert.throws(() => readTable(file("c.jsonl", '{"x":1}\n{oops\n')), /c\.jsonl:2: invalid JSON/);
    assert.throws(
      () => readTable(file("d.json", "[1]")),
      /d\.json \[0\]: each entry must be a JSON object/,
    );
    assert.throws(() => readTable(file("e.txt", "x")), /cannot read \.txt/);
  });

  it("reads Parquet with hyparquet: structs of lists, int64 as numbers, each row's place", () => {
    const path = join(
      ROOT,
      "test/fixtures/lm-eval/hub/allenai/ai2_arc/main/ARC-Easy/test-00000-of-00001.parquet",
    );
    const rows = readTable(path);
    assert.equal(rows.length, 6);
    assert.deepEqual(rows[0]?.row, {
      id: "easy-1",
      question: "Which animal can fly?",
      choices: { text: ["a cat", "a bird", "a fish", "a dog"], label: ["A", "B", "C", "D"] },
      answerKey: "B",
    });
    assert.equal(rows[5]?.location, `${path} row 6`);
    const mmlu = readTable(
      join(
        ROOT,
        "test/fixtures/lm-eval/hub/cais/mmlu/main/abstract_algebra/dev-00000-of-00001.parquet",
      ),
    );
    assert.equal(mmlu[0]?.row.answer, 1);
    assert.throws(
      () => readTable(join(dir, "none.parquet"), "task.yaml:3"),
      /task\.yaml:3: file not found/,
    );
    assert.throws(() => readTable(file("junk.parquet", "not parquet")), /cannot read Parquet/);
  });
});
