import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { tempDir, writeFiles } from "../support/cli.js";
import { ROOT } from "../support/paths.js";

/** The module URLs the CLI resolves for `args`, recorded by a resolve hook in its own process. */
async function modulesLoaded(args: string[]): Promise<string[]> {
  const dir = tempDir();
  const log = join(dir, "resolved.txt");
  writeFiles(dir, {
    "hook.mjs": `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + "\\n");
  return resolved;
}
`,
    "register.mjs": `import { register } from "node:module";
register(${JSON.stringify(pathToFileURL(join(dir, "hook.mjs")).href)});
`,
  });
  const out = await execa(
    process.execPath,
    [
      "--import",
      pathToFileURL(join(dir, "register.mjs")).href,
      join(ROOT, "bin/qbench.js"),
      ...args,
    ],
    { reject: false },
  );
  assert.equal(out.exitCode, 0, out.stderr);
  return readFileSync(log, "utf8").trim().split("\n");
}

describe("the CLI loads only the command it runs", () => {
  it("qbench quantize --help loads neither SQLite, the viewer's server nor the other commands", async () => {
    const urls = await modulesLoaded(["quantize", "--help"]);
    assert.ok(urls.some((u) => u.endsWith("/dist/src/cli/quantize.js")));
    for (const other of [
      "better-sqlite3",
      "/hono/",
      "/dist/src/cli/run.js",
      "/dist/src/cli/view.js",
    ]) {
      assert.ok(!urls.some((u) => u.includes(other)), `${other} was loaded`);
    }
  });

  it("qbench --help loads every command, so it lists them all", async () => {
    const urls = await modulesLoaded(["--help"]);
    for (const command of ["run", "quantize", "view", "doctor"]) {
      assert.ok(
        urls.some((u) => u.endsWith(`/dist/src/cli/${command}.js`)),
        command,
      );
    }
  });
});
