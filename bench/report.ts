// Render time and size of the HTML report at scale: 10 variants × 50,000 items written straight
// into SQLite (realistic rows: see test/report/synthetic-run.ts), then each phase timed apart:
// the facts read from every row once (as `qbench run` does at its end, keeping a digest per
// variant), then what `qbench report` does, in process and as the command.
// Run: npx tsc -p tsconfig.json && node dist/bench/report.js [--variants 10] [--items 50000] [--db FILE]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { assembleReportModel } from "../src/report/build-model.js";
import { renderHtml } from "../src/report/html.js";
import { Store } from "../src/store/store.js";
import { storedGates } from "../src/verdict/decide-run.js";
import { decide } from "../src/verdict/policy.js";
import { writeSyntheticFile } from "../test/report/synthetic-run.js";

const { values } = parseArgs({
  options: {
    variants: { type: "string", default: "10" },
    items: { type: "string", default: "50000" },
    db: { type: "string" },
  },
});
const BIN = fileURLToPath(new URL("../../bin/qbench.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "qbench-bench-report-"));
const dbPath = values.db ?? join(dir, "bench.db");

const timed = <T>(label: string, f: () => T): T => {
  const start = performance.now();
  const result = f();
  console.log(`${label.padEnd(44)} ${((performance.now() - start) / 1000).toFixed(2)} s`);
  return result;
};

if (!existsSync(dbPath))
  timed(`write ${values.variants} variants × ${values.items} items`, () =>
    writeSyntheticFile(dbPath, { variants: Number(values.variants), items: Number(values.items) }),
  );
const store = Store.open(dbPath);
try {
  const runId = store.read.findRun()?.id;
  if (runId === undefined) throw new Error(`${dbPath} holds no run`);
  const rows = store.read.countRows();
  console.log(
    `database ${(statSync(dbPath).size / 2 ** 20).toFixed(0)} MiB: ${rows.results} results, ${rows.metrics} metric rows`,
  );
  // What `qbench run` does once at its end: read every row for the verdict and keep the digest.
  store.dropDigests();
  timed("run's end: facts from every row, digest kept", () => store.read.facts(runId));
  const start = performance.now();
  const input = timed("report: facts from the digests, run and aggregate (src/store)", () =>
    store.read.report(runId),
  );
  const { facts } = input;
  const gates = storedGates(facts.planJson);
  const verdicts = timed("report: decide, paired bootstrap (src/verdict)", () =>
    decide(facts, gates),
  );
  const model = timed("report: view model (disagreements' texts)", () =>
    assembleReportModel(input, verdicts, gates),
  );
  const html = timed("report: HTML (handlebars, inline JSON)", () => renderHtml(model));
  const seconds = (performance.now() - start) / 1000;
  const out = join(dir, "report.html");
  writeFileSync(out, html);
  const kept = model.disagreements.suites.map(
    (s) => `${s.suite} ${s.shown}/${s.regressions + s.improvements}`,
  );
  console.log(`disagreements kept (cap ${model.disagreements.cap} per suite): ${kept.join(", ")}`);
  console.log(`HTML ${(Buffer.byteLength(html) / 2 ** 20).toFixed(2)} MiB (${out})`);
  console.log(`report in process ${seconds.toFixed(2)} s (the verdict re-decided included)`);
  // The command a user runs, start-up and file writing included.
  const cli = performance.now();
  execFileSync(process.execPath, [BIN, "report", "--db", dbPath, "--out", join(dir, "cli.html")], {
    stdio: "pipe",
  });
  console.log(
    `qbench report --db … --out …: ${((performance.now() - cli) / 1000).toFixed(2)} s wall`,
  );
} finally {
  store.close();
  // The synthetic database is large; the HTML stays for a look.
  if (!values.db) for (const f of ["", "-wal", "-shm"]) rmSync(`${dbPath}${f}`, { force: true });
}
