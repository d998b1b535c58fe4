import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench, tempDir, writeFiles } from "../support/cli.js";

describe("bad run ids and URLs exit 2 naming what was given, before any database or request", () => {
  for (const args of [
    ["compare", "abc", "1"],
    ["compare", "1", "2.5"],
    ["gate", "--run", "0"],
    ["report", "--run", "x"],
  ]) {
    it(`qbench ${args.join(" ")}`, async () => {
      const out = await qbench([...args, "--db", join(tempDir(), "none.db")]);
      assert.equal(out.exitCode, 2, out.stderr);
      assert.match(out.stderr, /^qbench: run id must be a positive integer, got "(abc|2\.5|0|x)"$/);
    });
  }

  for (const url of ["notaurl", "ftp://host/"]) {
    it(`qbench sweep --url ${url}`, async () => {
      const dir = tempDir();
      writeFiles(dir, { "p.txt": "hello\n" });
      const out = await qbench(["sweep", "--url", url, "--prompts", join(dir, "p.txt")]);
      assert.equal(out.exitCode, 2, out.stderr);
      assert.equal(
        out.stderr,
        `qbench: --url: expected an http:// or https:// URL such as http://127.0.0.1:8080, got "${url}"`,
      );
    });
  }
});
