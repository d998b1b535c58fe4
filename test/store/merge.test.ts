import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inShard, parseShard } from "../../src/plan/shard.js";
import type { Verdict } from "../../src/verdict/policy.js";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { storedResults } from "../support/db.js";
import { ROOT } from "../support/paths.js";
import { writeClozeSuite, writePlan } from "../support/plans.js";
import { currentDigests } from "./digests.js";

/** Verdicts without the timing-based speed flags, which differ between any two runs. */
function verdictsOf(stdout: string): unknown {
  const { verdicts } = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as {
    verdicts: Verdict[];
  };
  return verdicts.map((v) => ({ ...v, reasons: v.reasons.filter((r) => r.gate !== "speed") }));
}

describe("shards and merge (real runs on stories260K)", () => {
  it("3 shards merged give exactly the items, scores and verdicts of the unsharded run", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 20);
    writeFiles(dir, {
      "ppl.yaml": `id: ppl\nmetrics:\n  - perplexity: { file: ${join(ROOT, "test/fixtures/ppl/stories.txt")}, ctx: 128 }\n`,
    });
    const plan = writePlan(
      dir,
      [{ name: "fp16" }, { name: "int4", file: "stories260K-q4_0.gguf" }],
      [suite, join(dir, "ppl.yaml")],
      "gates: { inconclusive: ship }",
    );
    const whole = await qbench(["run", plan, "--db", join(dir, "whole.db"), "--quiet", "--json"]);
    assert.ok(whole.exitCode === 0 || whole.exitCode === 1, whole.stderr);
    const shardDbs = [1, 2, 3].map((i) => join(dir, `shard${i}.db`));
    const sizes: number[] = [];
    for (const [i, db] of shardDbs.entries()) {
      const out = await qbench(["run", plan, "--db", db, "--quiet", "--shard", `${i + 1}/3`]);
      assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);
      assert.match(
        out.stdout,
        new RegExp(`^run \\d+ \\(test-plan, shard ${i + 1}/3\\): complete`, "m"),
      );
      sizes.push(storedResults(db).length);
    }
    const merged = join(dir, "merged.db");
    const m = await qbench(["merge", ...shardDbs, "--out", merged]);
    assert.equal(m.exitCode, 0, m.stderr);
    const digests = currentDigests(merged);
    assert.equal(digests.current, digests.variants, "merge keeps a current digest per variant");
    const expected = storedResults(join(dir, "whole.db"));
    assert.deepEqual(storedResults(merged), expected);
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      expected.length,
    );
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 4, `balanced: ${sizes}`);
    const gate = await qbench(["gate", "--db", merged, "--json"]);
    assert.equal(gate.exitCode, whole.exitCode);
    assert.deepEqual(verdictsOf(gate.stdout), verdictsOf(whole.stdout));
    console.log(
      `merge: 3 shards of ${sizes.join(" + ")} results = ${expected.length}, identical scores and verdicts`,
    );

    const gap = await qbench([
      "merge",
      shardDbs[0] ?? "",
      shardDbs[2] ?? "",
      "--out",
      join(dir, "gap.db"),
    ]);
    assert.equal(gap.exitCode, 2);
    assert.match(gap.stderr, /gap: shard 2\/3 missing/);
    const twice = await qbench([
      "merge",
      ...shardDbs,
      shardDbs[1] ?? "",
      "--out",
      join(dir, "twice.db"),
    ]);
    assert.equal(twice.exitCode, 2);
    assert.match(twice.stderr, /overlap: shard2\.db and shard2\.db are both shard 2\/3/);
    const other = await qbench([
      "merge",
      join(dir, "whole.db"),
      shardDbs[0] ?? "",
      "--out",
      join(dir, "x.db"),
    ]);
    assert.equal(other.exitCode, 2);
  });
});

describe("shard assignment", () => {
  it("is stable, balanced per suite, and a partition", () => {
    const items = Array.from({ length: 101 }, (_, i) => `item-${i}`);
    const shards = [0, 1, 2].map((index) => inShard("s", items, (x) => x, { index, count: 3 }));
    assert.deepEqual(shards.map((s) => s.length).sort(), [33, 34, 34]);
    assert.deepEqual(shards.flat().sort(), [...items].sort());
    assert.deepEqual(
      inShard("s", [...items].reverse(), (x) => x, { index: 1, count: 3 }).sort(),
      [...(shards[1] ?? [])].sort(),
    );
  });

  it("reads i/n, or auto from a Kubernetes Indexed Job or a Slurm array", () => {
    assert.deepEqual(parseShard("2/3", {}), { index: 1, count: 3 });
    assert.deepEqual(parseShard("auto", { JOB_COMPLETION_INDEX: "4", QBENCH_SHARD_COUNT: "5" }), {
      index: 4,
      count: 5,
    });
    assert.deepEqual(
      parseShard("auto", {
        SLURM_ARRAY_TASK_ID: "3",
        SLURM_ARRAY_TASK_MIN: "1",
        SLURM_ARRAY_TASK_COUNT: "4",
      }),
      { index: 2, count: 4 },
    );
    assert.throws(() => parseShard("0/3", {}), /1 ≤ i ≤ n/);
    assert.throws(() => parseShard("auto", {}), /JOB_COMPLETION_INDEX/);
  });
});
