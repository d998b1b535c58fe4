import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { preparePlan } from "../../src/plan/prepare.js";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { model, ROOT } from "../support/paths.js";

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("a plan that names a source model and the precisions it wants", () => {
  it("quantizes once into a cache keyed by the source's sha256 and type, and reuses it", async () => {
    const dir = tempDir();
    writeFiles(dir, {
      "plan.yaml": [
        "name: from-source",
        `from: ${model("stories260K-f32.gguf")}`,
        "cacheDir: cache",
        "variants: [f16, q8_0, q4_0]",
        `suites: [${join(ROOT, "suites/story-perplexity.yaml")}]`,
        "backend: cpu",
        "contextSize: 256",
      ].join("\n"),
    });
    const first = await qbench(
      ["run", join(dir, "plan.yaml"), "--db", join(dir, "r.db"), "--json"],
      { cwd: dir },
    );
    assert.ok(first.exitCode === 0 || first.exitCode === 1, first.stderr);
    assert.match(first.stderr, /quantizing stories260K-f32\.gguf → q8_0/);
    const summary = JSON.parse(first.stdout.trim().split("\n").at(-1) ?? "") as {
      variants: Array<{ name: string; precision: string }>;
    };
    assert.deepEqual(
      summary.variants.map((v) => [v.name, v.precision]),
      [
        ["f16", "fp16"],
        ["q8_0", "int8"],
        ["q4_0", "int4"],
      ],
    );
    const key = sha(model("stories260K-f32.gguf"));
    const entry = join(dir, "cache", key);
    assert.deepEqual(readdirSync(entry).sort(), ["f16.gguf", "q4_0.gguf", "q8_0.gguf"]);
    // The same bytes llama-quantize --pure wrote for the shared test files.
    assert.equal(sha(join(entry, "q8_0.gguf")), sha(model("stories260K-q8_0.gguf")));
    assert.equal(sha(join(entry, "q4_0.gguf")), sha(model("stories260K-q4_0.gguf")));
    const mtime = statSync(join(entry, "q4_0.gguf")).mtimeMs;

    const second = await qbench(["run", join(dir, "plan.yaml"), "--db", join(dir, "r.db")], {
      cwd: dir,
    });
    assert.equal(second.exitCode, first.exitCode);
    assert.doesNotMatch(second.stderr, /quantizing/);
    assert.equal(statSync(join(entry, "q4_0.gguf")).mtimeMs, mtime);
  });

  it("refuses quantize without from:, naming the line", async () => {
    const dir = tempDir();
    writeFiles(dir, {
      "plan.yaml": `variants:\n  - q8_0\nsuites: [${join(ROOT, "suites/story-perplexity.yaml")}]\n`,
    });
    const out = await qbench(["run", join(dir, "plan.yaml"), "--db", join(dir, "r.db")]);
    assert.equal(out.exitCode, 2);
    assert.match(out.stderr, /plan\.yaml:2: variants\[0\]: quantize needs the plan's from: model/);
  });
});

describe("the quantize cache", () => {
  it("is relative to the plan file's folder, not the current one", async () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    writeFiles(dir, {
      "plan.yaml": [
        `from: ${model("stories260K-f32.gguf")}`,
        "variants: [q8_0]",
        `suites: [${join(ROOT, "suites/story-perplexity.yaml")}]`,
        "backend: cpu",
      ].join("\n"),
    });
    const cwd = process.cwd();
    process.chdir(elsewhere);
    try {
      const { resolved } = await preparePlan(join(dir, "plan.yaml"), {});
      assert.equal(resolved.cacheDir, join(dir, ".qbench/cache"));
      assert.equal(dirname(dirname(resolved.variants[0]?.modelPath ?? "")), resolved.cacheDir);
      assert.ok(existsSync(resolved.variants[0]?.modelPath ?? ""));
      assert.deepEqual(readdirSync(elsewhere), []);
    } finally {
      process.chdir(cwd);
    }
  });
});
