import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { execa } from "execa";
import { ROOT } from "../support/paths.js";

const BUILD = join(ROOT, "native/build.mjs");

describe("native/build.mjs (npm install's native scorer build)", () => {
  it("exits 0 and says qbench falls back when there is no C++ compiler", async () => {
    const out = await execa(process.execPath, [BUILD], {
      env: { CXX: "/nonexistent/c++" },
      reject: false,
    });
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(
      out.stdout,
      "qbench: native scorer not built (no C++ compiler (/nonexistent/c++)); qbench ppl scores through node-llama-cpp's JS path",
    );
  });

  it("exits 0 with the same kind of line when a compile fails", async () => {
    // `false` runs (so the compiler probe passes) but fails the compile: the build must not.
    const out = await execa(process.execPath, [BUILD], {
      env: { CXX: "/bin/false", QBENCH_NATIVE_SCORER: "" },
      reject: false,
    });
    assert.equal(out.exitCode, 0, out.stderr);
    assert.match(out.stdout, /^qbench: native scorer not built \(/);
  });

  it("does nothing, and says so, under QBENCH_NATIVE_SCORER=0", async () => {
    const out = await execa(process.execPath, [BUILD], {
      env: { QBENCH_NATIVE_SCORER: "0" },
      reject: false,
    });
    assert.equal(out.exitCode, 0);
    assert.match(out.stdout, /not built \(QBENCH_NATIVE_SCORER=0\)/);
  });

  it("is what npm runs at install", async () => {
    const { scripts } = (await import(join(ROOT, "package.json"), { with: { type: "json" } }))
      .default as { scripts: Record<string, string> };
    assert.equal(scripts.install, "node native/build.mjs");
    assert.ok(
      existsSync(join(ROOT, "native/include/llama.h")),
      "the llama.cpp headers are committed",
    );
  });
});
