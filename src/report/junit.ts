import type { ReasonRow, ReportModel, VerdictRow } from "./view-model.js";

/** XML 1.0's Char production: control characters, lone surrogates and U+FFFE/F are not allowed. */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    code >= 0x10000
  );
}

function xmlChars(text: string): string {
  let out = "";
  for (const ch of text) out += isXmlChar(ch.codePointAt(0) ?? 0) ? ch : "\uFFFD";
  return out;
}

/** Text for XML element content; characters XML cannot hold become U+FFFD. */
export function xmlText(text: string): string {
  return xmlChars(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r/g, "&#13;");
}

/** Text for a double-quoted attribute: line breaks and tabs kept as character references. */
export function xmlAttribute(text: string): string {
  return xmlText(text).replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(/\t/g, "&#9;");
}

const attrs = (pairs: Record<string, string | number>) =>
  Object.entries(pairs)
    .map(([k, v]) => `${k}="${xmlAttribute(String(v))}"`)
    .join(" ");

/** JUnit's timestamp is an xs:dateTime without a zone: the run's start, as stored. */
function timestamp(iso: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.exec(iso)?.[0] ?? "1970-01-01T00:00:00";
}

interface Case {
  /** Stable across runs (CI tools track a test by name): gate, metric and suite, no figures. */
  name: string;
  reason: ReasonRow | null;
}

/** One test case per gate finding; a variant with none gets one "verdict" case. */
function casesOf(v: VerdictRow): Case[] {
  const cases = [...v.blocking, ...v.others].map((r) => ({
    name: `${r.gate} · ${r.metric}${r.suite ? ` on ${r.suite}` : ""}`,
    reason: r,
  }));
  return cases.length > 0 ? cases : [{ name: "verdict", reason: null }];
}

function testcase(model: ReportModel, v: VerdictRow, c: Case): string {
  const head = `    <testcase ${attrs({ name: c.name, classname: `qbench.${model.run.plan}.${v.variant}`, time: 0 })}`;
  if (!c.reason?.blocking) return `${head}/>`;
  const r = c.reason;
  return [
    `${head}>`,
    `      <failure ${attrs({ message: r.message, type: r.status })}>${xmlText(`${r.gate} gate ${r.status}: ${r.message}`)}</failure>`,
    "    </testcase>",
  ].join("\n");
}

function testsuite(model: ReportModel, v: VerdictRow, id: number): string {
  const cases = casesOf(v);
  const properties = [
    ["precision", v.precision],
    ["verdict", v.verdict],
    ["baseline", String(v.baseline)],
    ["model_size", v.size],
    ...(v.failed ? [["error", v.error ?? "unknown error"]] : []),
  ];
  // Findings that do not block (passes, allowed inconclusives, warnings) are kept as output.
  const out = [`${v.variant}: ${v.verdict}`, ...v.others.map((r) => `${r.mark} ${r.message}`)];
  return [
    `  <testsuite ${attrs({
      name: v.variant,
      package: `qbench.${model.run.plan}`,
      id,
      hostname: model.run.host,
      timestamp: timestamp(model.run.startedAt),
      tests: cases.length,
      failures: cases.filter((c) => c.reason?.blocking).length,
      errors: 0,
      time: v.busySeconds.toFixed(3),
    })}>`,
    "    <properties>",
    ...properties.map(([name = "", value = ""]) => `      <property ${attrs({ name, value })}/>`),
    "    </properties>",
    ...cases.map((c) => testcase(model, v, c)),
    `    <system-out>${xmlText(out.join("\n"))}</system-out>`,
    "    <system-err></system-err>",
    "  </testsuite>",
  ].join("\n");
}

/**
 * JUnit XML (Jenkins' junit-10.xsd, with every attribute Ant's schema requires): a test suite
 * per variant, a test case per gate finding, and a failure carrying the reason for each finding
 * that blocks the release.
 */
export function renderJunit(model: ReportModel): string {
  const all = model.verdicts.map(casesOf);
  const tests = all.reduce((n, cases) => n + cases.length, 0);
  const failures = all.reduce((n, cases) => n + cases.filter((c) => c.reason?.blocking).length, 0);
  const time = model.verdicts.reduce((t, v) => t + v.busySeconds, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attrs({ name: `qbench ${model.run.plan} run ${model.run.id}`, tests, failures, errors: 0, time: time.toFixed(3) })}>`,
    ...model.verdicts.map((v, id) => testsuite(model, v, id)),
    "</testsuites>",
    "",
  ].join("\n");
}
