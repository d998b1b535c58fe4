import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { execa } from "execa";
import { tempDir } from "../support/cli.js";
import { ROOT } from "../support/paths.js";
import { writeReviewedRuns } from "./fixture.js";

describe("qbench view as a command (real runs on stories260K)", () => {
  it("prints its URL and the reviewer, serves the runs there, and stops with exit 0 on SIGTERM", async () => {
    const file = await writeReviewedRuns(tempDir(), { regressed: ["q1"] });
    const child = execa(
      process.execPath,
      [join(ROOT, "bin/qbench.js"), "view", "--db", file, "--port", "0", "--reviewer", "Ada Test"],
      { reject: false, env: { FORCE_COLOR: "0" } },
    );
    const printed = await new Promise<string>((done, fail) => {
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("Ctrl-C stops it")) done(out);
      });
      child.once("exit", () => fail(new Error(`exited before serving: ${out}`)));
    });
    const url = /^qbench view: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(printed)?.[1];
    assert.ok(url, printed);
    assert.match(printed, /^reviewing as Ada Test; Ctrl-C stops it$/m);
    const page = await fetch(`${url}runs/1`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>qbench · test-plan · run 1<\/title>/);
    child.kill("SIGTERM");
    const result = await child;
    assert.equal(result.exitCode, 0, String(result.stderr));
  });

  it("refuses a port out of range and a short token with exit 2, naming the flag", async () => {
    const file = await writeReviewedRuns(tempDir(), { regressed: [] });
    for (const [args, message] of [
      [["--db", file, "--port", "70000"], /--port must be an integer from 0 to 65535/],
      [["--db", file, "--token", "short", "--port", "0"], /--token must be at least 16 characters/],
      [["--db", join(tempDir(), "none.db"), "--port", "0"], /none\.db: no such database/],
    ] as const) {
      const bin = join(ROOT, "bin/qbench.js");
      const r = await execa(process.execPath, [bin, "view", ...args], { reject: false });
      assert.equal(r.exitCode, 2, String(r.stderr));
      assert.match(String(r.stderr), message);
    }
  });
});
