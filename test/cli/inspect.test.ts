import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readGguf } from "../../lib/gguf/reader.js";
import { tensorRole } from "../../src/gguf/summary.js";
import { qbench, tempDir } from "../support/cli.js";
import { MODELS, model, ROOT } from "../support/paths.js";

const noModels = existsSync(MODELS) ? false : `no test models at ${MODELS}`;

describe("qbench inspect", { skip: noModels }, () => {
  test("--json: one object with the summary and the file's sha256", async () => {
    const path = model("stories260K-q4_0.gguf");
    const r = await qbench(["inspect", path, "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    const s = JSON.parse(lines[0] ?? "");
    // Counts and sizes as gguf-py's GGUFReader reads the same file (see test/gguf/reader.test.ts).
    assert.equal(s.path, path);
    assert.equal(s.architecture, "llama");
    assert.equal(s.fileType, "MOSTLY_Q4_0");
    assert.equal(s.fileSize, 260576);
    assert.equal(s.tensorCount, 48);
    assert.equal(s.parameterCount, 292800);
    assert.deepEqual(s.tensorTypes, {
      Q4_0: { count: 32, bytes: 133344 },
      F16: { count: 5, bytes: 110080 },
      F32: { count: 11, bytes: 2816 },
    });
    assert.equal(s.bitsPerWeight, (8 * 246240) / 292800);
    assert.equal(s.contextLength, 512);
    assert.equal(s.vocabularySize, 512);
    assert.equal(s.tokenizerModel, "llama");
    assert.equal(s.sha256, createHash("sha256").update(readFileSync(path)).digest("hex"));
  });

  test("the table: facts, then bytes and count per tensor type", async () => {
    const r = await qbench(["inspect", model("stories260K-f16.gguf")]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^architecture\s+llama$/m);
    assert.match(r.stdout, /^file type\s+MOSTLY_F16 \(F16\)$/m);
    assert.match(r.stdout, /^context length\s+512$/m);
    assert.match(r.stdout, /^vocabulary\s+512$/m);
    assert.match(r.stdout, /^tokenizer\s+llama$/m);
    assert.match(r.stdout, /^sha256\s+f614633d/m);
    assert.match(r.stdout, /^F16\s+37\s+584,192\s+99\.5%$/m);
    assert.match(r.stdout, /^F32\s+11\s+2,816\s+0\.5%$/m);
    assert.match(r.stdout, /^total\s+48\s+587,008\s+100\.0%$/m);
  });

  test("the mix: types and bits per weight per tensor role (a Q4_K_M file qbench made)", async () => {
    const dir = tempDir();
    const out = join(dir, "q4km.gguf");
    const q = await qbench([
      "quantize",
      model("stories260K-f32.gguf"),
      "--type",
      "q4_k_m",
      "--out",
      out,
    ]);
    assert.equal(q.exitCode, 0, q.stderr);
    const r = await qbench(["inspect", out, "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    // The types llama-quantize chose for this file (test/fixtures/quantize/kquant-reference.json).
    const reference = JSON.parse(
      readFileSync(join(ROOT, "test/fixtures/quantize/kquant-reference.json"), "utf8"),
    ) as {
      runs: {
        input: string;
        type: string;
        pure: boolean;
        imatrix: string | null;
        tensorType: string | null;
        output: { tensors: Record<string, { type: string }> };
      }[];
    };
    const run = reference.runs.find(
      (x) =>
        x.input === "stories260K-f32.gguf" &&
        x.type === "Q4_K_M" &&
        !x.pure &&
        x.imatrix === null &&
        x.tensorType === null,
    );
    assert.ok(run);
    const want: Record<string, Record<string, number>> = {};
    for (const [name, t] of Object.entries(run.output.tensors)) {
      const role = want[tensorRole(name)] ?? {};
      want[tensorRole(name)] = role;
      role[t.type] = (role[t.type] ?? 0) + 1;
    }
    const file = await readGguf(out);
    for (const [role, types] of Object.entries(want)) {
      assert.deepEqual(s.roles[role].types, types, role);
      const tensors = file.tensors.filter((t) => tensorRole(t.name) === role);
      const bits =
        (8 * tensors.reduce((a, t) => a + t.byteSize, 0)) /
        tensors.reduce((a, t) => a + t.elementCount, 0);
      assert.equal(s.roles[role].bitsPerWeight, bits, role);
    }
    assert.deepEqual(Object.keys(s.roles).sort(), Object.keys(want).sort());
    const table = await qbench(["inspect", out]);
    const attnV = Object.entries(want.attn_v ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([type, n]) => `${n} ${type}`)
      .join(", ");
    assert.match(
      table.stdout,
      new RegExp(`^attn_v\\s+5\\s+${attnV}\\s+${s.roles.attn_v.bitsPerWeight.toFixed(2)}\\s`, "m"),
    );
  });

  test("a missing, truncated or non-GGUF file exits 2 naming the file", async (t) => {
    const dir = tempDir("qbench-inspect-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const missing = await qbench(["inspect", join(dir, "nope.gguf")]);
    assert.equal(missing.exitCode, 2, missing.stderr);
    assert.match(missing.stderr, /nope\.gguf: cannot open model file/);

    const cut = join(dir, "cut.gguf");
    copyFileSync(model("stories260K-f32.gguf"), cut);
    truncateSync(cut, 500_000);
    const truncated = await qbench(["inspect", cut]);
    assert.equal(truncated.exitCode, 2, truncated.stderr);
    assert.match(
      truncated.stderr,
      /cut\.gguf: file is truncated: tensor .* but the file has 500000 bytes/,
    );

    const fake = join(dir, "fake.gguf");
    writeFileSync(fake, "not a model at all");
    const notGguf = await qbench(["inspect", fake, "--json"]);
    assert.equal(notGguf.exitCode, 2, notGguf.stderr);
    assert.equal(notGguf.stdout, "");
    assert.match(notGguf.stderr, /fake\.gguf: not a GGUF file/);
  });

  test("bad usage (no model argument) exits 2", async () => {
    const r = await qbench(["inspect"]);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /Not enough non-option arguments/);
  });
});
