import assert from "node:assert/strict";
import { closeSync, copyFileSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { readGguf } from "../../lib/gguf/reader.js";
import type { Reason, Verdict } from "../../src/verdict/policy.js";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { model, ROOT, SUPPORT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";

/** A Q4_0 file with the scales of every block of three matrices multiplied by 8 (a quantizer bug). */
async function breakQ4(path: string): Promise<void> {
  const file = await readGguf(path);
  const fd = openSync(path, "r+");
  try {
    for (const name of ["blk.0.attn_q.weight", "blk.1.ffn_gate.weight", "blk.2.attn_v.weight"]) {
      const t = file.tensors.find((x) => x.name === name);
      assert.ok(t && t.typeName === "Q4_0", name);
      const start = file.dataOffset + t.offset;
      const block = Buffer.alloc(18);
      for (let at = start; at < start + t.byteSize; at += 18) {
        readSync(fd, block, 0, 2, at);
        // fp16 scale × 8: add 3 to its exponent.
        block.writeUInt16LE(block.readUInt16LE(0) + (3 << 10), 0);
        writeSync(fd, block, 0, 2, at);
      }
    }
  } finally {
    closeSync(fd);
  }
}

function verdictsOf(stdout: string): Verdict[] {
  return (JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as { verdicts: Verdict[] }).verdicts;
}

describe("verdicts end to end (real runs on stories260K)", () => {
  let dir: string;
  let perplexitySuite: string;

  before(() => {
    dir = tempDir();
    writeFiles(dir, {
      "ppl.yaml": `id: ppl\nmetrics:\n  - perplexity: { file: ${join(ROOT, "test/fixtures/ppl/stories.txt")}, ctx: 128 }\n`,
    });
    perplexitySuite = join(dir, "ppl.yaml");
  });

  it("a broken INT4 is NO-SHIP on perplexity and KLD; Q8_0 is not flagged on either (exit 1)", async () => {
    const broken = join(dir, "broken-q4_0.gguf");
    copyFileSync(model("stories260K-q4_0.gguf"), broken);
    await breakQ4(broken);
    const plan = writePlan(
      dir,
      [
        { name: "fp16" },
        { name: "int8", file: "stories260K-q8_0.gguf" },
        { name: "int4-broken", file: broken },
      ],
      [perplexitySuite],
    );
    const out = await qbench(["run", plan, "--db", join(dir, "a.db"), "--json", "--quiet"]);
    assert.equal(out.exitCode, 1, out.stderr);
    const verdicts = verdictsOf(out.stdout);
    const [base, int8, int4] = verdicts;
    assert.equal(base?.verdict, "SHIP");
    assert.equal(int8?.verdict, "SHIP", JSON.stringify(int8?.reasons));
    for (const gate of ["perplexity", "kld"]) {
      const r: Reason | undefined = int8?.reasons.find((x) => x.gate === gate);
      assert.equal(r?.status, "pass", `int8 ${gate}: ${r?.message}`);
    }
    assert.equal(int4?.verdict, "NO-SHIP");
    const ppl = int4?.reasons.find((x) => x.gate === "perplexity");
    const kld = int4?.reasons.find((x) => x.gate === "kld");
    assert.equal(ppl?.status, "fail");
    assert.equal(kld?.status, "fail");
    assert.ok((ppl?.value ?? 0) > 1.05 && (ppl?.interval?.[0] ?? 0) > 1.05, ppl?.message);
    assert.match(kld?.message ?? "", /KLD on ppl: mean .* vs ≤ 0.05: fail/);
    console.log(
      `broken int4: ${ppl?.message}\n             ${kld?.message}\nint8: ${int8?.reasons.map((r) => r.message).join("\n      ")}`,
    );

    // qbench gate re-decides the stored run; a looser plan lets the broken file through.
    const again = await qbench(["gate", "--db", join(dir, "a.db"), "--json"]);
    assert.equal(again.exitCode, 1);
    assert.deepEqual(verdictsOf(again.stdout), verdicts);
    const loose = writePlan(
      dir,
      [
        { name: "fp16" },
        { name: "int8", file: "stories260K-q8_0.gguf" },
        { name: "int4-broken", file: broken },
      ],
      [perplexitySuite],
      "gates: { perplexity: { maxRatio: 100 }, kld: { maxMean: 100 } }",
    );
    const relaxed = await qbench(["gate", "--db", join(dir, "a.db"), "--plan", loose]);
    assert.equal(relaxed.exitCode, 0, relaxed.stdout);
  });

  it("a variant that writes half as much is caught by the length guard, not praised for speed", async () => {
    const suite = writeClozeSuite(dir, 30, "len");
    const fake = (mode: string) => [process.execPath, join(SUPPORT, "fake-runners.js"), mode];
    const plan = writePlan(
      dir,
      [
        { name: "base", runner: fake("long") },
        { name: "terse", runner: fake("short") },
      ],
      [suite],
      "gates: { metrics: [{ metric: exact_match, ignore: true }, { metric: rouge1_f1, ignore: true }, { metric: rougeL_f1, ignore: true }] }",
    );
    const out = await qbench(["run", plan, "--db", join(dir, "len.db"), "--json", "--quiet"]);
    assert.equal(out.exitCode, 1, out.stderr);
    const terse = verdictsOf(out.stdout)[1];
    assert.equal(terse?.verdict, "NO-SHIP");
    const length = terse?.reasons.find((r) => r.gate === "length");
    assert.equal(length?.status, "fail");
    assert.equal(length?.value, 0.5);
    assert.match(length?.message ?? "", /50\.0 % of baseline .* it writes less/);
    assert.equal(
      terse?.reasons.find((r) => r.gate === "speed"),
      undefined,
      "faster, so no speed flag",
    );
  });

  it("exit 0 when every variant ships, 3 when the baseline could not run, 2 for a missing run", async () => {
    const plan = writePlan(
      dir,
      [{ name: "fp16" }, { name: "int8", file: "stories260K-q8_0.gguf" }],
      [perplexitySuite],
    );
    const ok = await qbench(["run", plan, "--db", join(dir, "ok.db"), "--quiet"]);
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /SHIP {4}int8 \[int8\]/);

    const fake = [process.execPath, join(SUPPORT, "fake-runners.js"), "bad-load"];
    const noBase = writePlan(
      dir,
      [
        { name: "fp16", runner: fake },
        { name: "int8", file: "stories260K-q8_0.gguf" },
      ],
      [perplexitySuite],
    );
    const failed = await qbench(["run", noBase, "--db", join(dir, "nobase.db"), "--quiet"]);
    assert.equal(failed.exitCode, 3);
    assert.match(
      failed.stderr,
      /the baseline fp16 did not complete: runner did not load the model/,
    );

    const missing = await qbench(["gate", "--db", join(dir, "ok.db"), "--run", "99"]);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /run 99 not found/);
  });
});
