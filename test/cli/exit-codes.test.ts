import assert from "node:assert/strict";
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { countResults } from "../support/db.js";
import { model } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

describe("qbench run: bad input exits 2 naming file and line, and writes nothing", () => {
  it("a malformed plan", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 2);
    const plan = writePlan(dir, [{ name: "a" }], [suite], "repeats: many");
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db]);
    assert.equal(out.exitCode, 2);
    assert.match(out.stderr, /^qbench: .*plan\.yaml:12: repeats: /m);
    assert.equal(countResults(db), 0);
  });

  it("a malformed suite line", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 3);
    writeFileSync(
      join(dir, "cloze.jsonl"),
      readFileSync(join(dir, "cloze.jsonl"), "utf8").replace(/}\n$/, "\n"),
    );
    const out = await qbench([
      "run",
      writePlan(dir, [{ name: "a" }], [suite]),
      "--db",
      join(dir, "run.db"),
    ]);
    assert.equal(out.exitCode, 2);
    assert.match(out.stderr, /cloze\.jsonl:3: invalid JSON/);
  });

  it("a truncated model, refused before any runner starts", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 2);
    const cut = join(dir, "cut.gguf");
    copyFileSync(model("stories260K-q8_0.gguf"), cut);
    truncateSync(cut, 200_000);
    const plan = writePlan(dir, [{ name: "ok" }, { name: "cut", file: cut }], [suite]);
    const db = join(dir, "run.db");
    const out = await qbench(["run", plan, "--db", db]);
    assert.equal(out.exitCode, 2);
    assert.match(
      out.stderr,
      /cut\.gguf: .*tensor .* needs bytes \[\d+, \d+\) but the file has 200000 bytes/,
    );
    assert.equal(countResults(db), 0);
  });

  it("a file that is not GGUF", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 2);
    writeFiles(dir, { "fake.gguf": "PK\u0003\u0004 this is a zip" });
    const plan = writePlan(dir, [{ name: "a", file: join(dir, "fake.gguf") }], [suite]);
    const out = await qbench(["run", plan, "--db", join(dir, "run.db")]);
    assert.equal(out.exitCode, 2);
    assert.match(out.stderr, /fake\.gguf: .*not a GGUF file/i);
  });

  it("an unknown option is bad usage", async () => {
    const out = await qbench(["run", "--no-such-flag"]);
    assert.equal(out.exitCode, 2);
    assert.match(out.stderr, /Unknown argument/);
  });
});

describe("qbench run: success", () => {
  it("exits 0 and prints a machine-readable summary with --json", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 5);
    const plan = writePlan(
      dir,
      [{ name: "fp16" }, { name: "int8", file: "stories260K-q8_0.gguf" }],
      [suite],
    );
    const out = await qbench(["run", plan, "--db", join(dir, "run.db"), "--json"]);
    assert.equal(out.exitCode, 0, out.stderr);
    const last = out.stdout.trim().split("\n").at(-1) ?? "";
    const summary = JSON.parse(last) as {
      variants: Array<{ name: string; status: string; suites: unknown[] }>;
    };
    assert.deepEqual(
      summary.variants.map((v) => [v.name, v.status]),
      [
        ["fp16", "complete"],
        ["int8", "complete"],
      ],
    );
  });
});
