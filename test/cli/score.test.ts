import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { ROOT } from "../support/paths.js";

interface Case {
  prediction: string;
  reference: string;
  /** [precision, recall, f1] per type, as rouge-score computed them. */
  scores: Record<"plain" | "stemmed", Record<string, [number, number, number]>>;
}

describe("qbench score rouge (contract: one JSON object per input line, in order)", () => {
  it("prints rouge-score's figures for each pair, with and without stemming", async () => {
    const fixture = JSON.parse(
      readFileSync(join(ROOT, "test/fixtures/rouge/cases.json"), "utf8"),
    ) as {
      cases: Case[];
    };
    const cases = fixture.cases.slice(0, 60);
    const dir = tempDir();
    writeFiles(dir, {
      "pairs.jsonl": `${cases.map((c) => JSON.stringify({ prediction: c.prediction, reference: c.reference })).join("\n")}\n`,
    });
    for (const stem of [false, true]) {
      const out = await qbench([
        "score",
        "rouge",
        join(dir, "pairs.jsonl"),
        ...(stem ? ["--stem"] : []),
      ]);
      assert.equal(out.exitCode, 0, out.stderr);
      const lines = out.stdout.trim().split("\n");
      assert.equal(lines.length, cases.length);
      lines.forEach((line, i) => {
        const got = JSON.parse(line) as Record<
          string,
          { precision: number; recall: number; f1: number }
        >;
        assert.deepEqual(Object.keys(got), ["rouge1", "rouge2", "rougeL", "rougeLsum"]);
        const want = cases[i]?.scores[stem ? "stemmed" : "plain"];
        for (const type of Object.keys(got)) {
          const w = want?.[type];
          const g = got[type];
          assert.ok(w && g, `case ${i} ${type}`);
          assert.ok(Math.abs(g.precision - w[0]) < 1e-9, `case ${i} ${type} precision`);
          assert.ok(Math.abs(g.recall - w[1]) < 1e-9, `case ${i} ${type} recall`);
          assert.ok(Math.abs(g.f1 - w[2]) < 1e-9, `case ${i} ${type} f1 ${g.f1} vs ${w[2]}`);
        }
      });
    }
  });

  it("exits 2 naming file and line for a malformed line", async () => {
    const dir = tempDir();
    writeFiles(dir, {
      "pairs.jsonl": '{"prediction": "a", "reference": "a"}\n{"prediction": 3, "reference": "b"}\n',
    });
    const out = await qbench(["score", "rouge", join(dir, "pairs.jsonl")]);
    assert.equal(out.exitCode, 2);
    assert.match(out.stderr, /pairs\.jsonl:2: each line needs string fields/);
    assert.equal(out.stdout, "");
  });
});
