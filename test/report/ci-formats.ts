import assert from "node:assert/strict";
import { parseXml, type XmlElement } from "./xml.js";

/** Splits a Markdown table row on its unescaped pipes. */
function cells(line: string): string[] {
  assert.match(line, /^\|.*\|$/, `a table row: ${line.slice(0, 80)}`);
  return line
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The first GFM table of a Markdown text: its header, and rows that all have the header's width. */
export function parseMarkdownTable(markdown: string): { header: string[]; rows: string[][] } {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  assert.ok(start >= 0, "a table");
  const header = cells(lines[start] ?? "");
  const separator = cells(lines[start + 1] ?? "");
  assert.equal(separator.length, header.length);
  for (const s of separator) assert.match(s, /^:?-{3,}:?$/);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const row = cells(line);
    assert.equal(row.length, header.length, `row width: ${line.slice(0, 80)}`);
    rows.push(row);
  }
  return { header, rows };
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;
const DECIMAL = /^\d+(\.\d+)?$/;

function need(e: XmlElement, names: string[]): void {
  for (const n of names) assert.ok(n in e.attributes, `<${e.name}> needs ${n}`);
}

/**
 * Checks a JUnit document against the structure of Jenkins' junit-10.xsd and the attributes
 * Ant's junit.xsd requires: testsuites > testsuite (properties?, testcase*, system-out,
 * system-err) > testcase > failure; counts that agree with the elements.
 */
export function checkJunit(xml: string): {
  suites: XmlElement[];
  cases: Array<{ suite: string; name: string; failure: XmlElement | undefined }>;
} {
  const root = parseXml(xml);
  assert.equal(root.name, "testsuites");
  const suites = root.children;
  assert.ok(suites.length > 0);
  const cases: Array<{ suite: string; name: string; failure: XmlElement | undefined }> = [];
  let tests = 0;
  let failures = 0;
  for (const suite of suites) {
    assert.equal(suite.name, "testsuite");
    need(suite, [
      "name",
      "tests",
      "failures",
      "errors",
      "time",
      "timestamp",
      "hostname",
      "id",
      "package",
    ]);
    assert.match(suite.attributes.timestamp ?? "", DATETIME);
    assert.match(suite.attributes.time ?? "", DECIMAL);
    const order = suite.children.map((c) => c.name);
    assert.match(order.join(" "), /^(properties )?(testcase )*system-out system-err$/);
    const testcases = suite.children.filter((c) => c.name === "testcase");
    let suiteFailures = 0;
    for (const c of testcases) {
      need(c, ["name", "classname", "time"]);
      assert.match(c.attributes.time ?? "", DECIMAL);
      for (const child of c.children)
        assert.ok(["failure", "error", "skipped"].includes(child.name));
      const failure = c.children.find((x) => x.name === "failure");
      if (failure) {
        need(failure, ["message", "type"]);
        suiteFailures++;
      }
      cases.push({ suite: suite.attributes.name ?? "", name: c.attributes.name ?? "", failure });
    }
    assert.equal(Number(suite.attributes.tests), testcases.length);
    assert.equal(Number(suite.attributes.failures), suiteFailures);
    tests += testcases.length;
    failures += suiteFailures;
  }
  assert.equal(Number(root.attributes.tests), tests);
  assert.equal(Number(root.attributes.failures), failures);
  return { suites, cases };
}
