import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { ReviewWriter } from "../../src/store/reviews.js";
import { qbench, tempDir } from "../support/cli.js";
import { writeGatesPlan, writeReviewedRuns } from "./fixture.js";

const add = (file: string, item: string, verdict: "acceptable" | "not-acceptable" | "unsure") => {
  const writer = ReviewWriter.open(file);
  try {
    writer.add({
      runId: 1,
      variant: "q8_0",
      suite: "cloze",
      item,
      verdict,
      note: "",
      reviewer: "Ada Test",
    });
  } finally {
    writer.close();
  }
};

interface Gated {
  exitCode: number;
  review: Array<{ metric: string; status: string; blocking: boolean; message: string }>;
}

async function gate(file: string, plan?: string): Promise<Gated> {
  const out = await qbench(["gate", "--db", file, "--json", ...(plan ? ["--plan", plan] : [])]);
  assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);
  const json = JSON.parse(out.stdout) as {
    verdicts: Array<{
      variant: string;
      reasons: Array<Gated["review"][number] & { gate: string }>;
    }>;
  };
  const q8 = json.verdicts.find((v) => v.variant === "q8_0");
  const review = (q8?.reasons ?? [])
    .filter((r) => r.gate === "review")
    .map(({ metric, status, blocking, message }) => ({ metric, status, blocking, message }));
  return { exitCode: out.exitCode, review };
}

describe("the review gate: qbench gate counts reviews (real runs on stories260K)", () => {
  const dir = tempDir();
  let file: string;
  let strict: string;
  let lenient: string;
  let share: string;

  before(async () => {
    file = await writeReviewedRuns(dir, { regressed: ["q2", "q5", "q7"] });
    strict = writeGatesPlan(dir, "strict.yaml", [
      "  inconclusive: no-ship",
      "  review: { requireAllRegressions: true }",
    ]);
    lenient = writeGatesPlan(dir, "lenient.yaml", [
      "  inconclusive: ship",
      "  review: { requireAllRegressions: true }",
    ]);
    share = writeGatesPlan(dir, "share.yaml", [
      "  inconclusive: no-ship",
      "  review: { minAcceptable: 0.95, requireAllRegressions: true }",
    ]);
  });

  it("changes its answer with the reviews when the plan has the gate, and not without it", async () => {
    // Without a review gate: nothing but reviews is judged here, so the variant ships.
    assert.deepEqual(await gate(file), { exitCode: 0, review: [] });
    const unreviewed = await gate(file, strict);
    assert.equal(unreviewed.exitCode, 1);
    assert.deepEqual(unreviewed.review, [
      {
        metric: "unreviewed_regressions",
        status: "inconclusive",
        blocking: true,
        message: "review: 3 of 3 regressions not reviewed (first: cloze/q2): inconclusive",
      },
    ]);
    // Under `inconclusive: ship` the same unreviewed regressions do not block.
    assert.equal((await gate(file, lenient)).exitCode, 0);

    add(file, "q2", "acceptable");
    add(file, "q5", "acceptable");
    assert.equal((await gate(file, strict)).exitCode, 1, "one regression still not reviewed");
    add(file, "q7", "unsure");
    const reviewed = await gate(file, strict);
    assert.equal(reviewed.exitCode, 0);
    assert.equal(reviewed.review[0]?.message, "review: all 3 regressions reviewed");

    // 2 of 3 acceptable, 3 of 3 if the unsure one is: inconclusive against 95 %, so NO-SHIP.
    const open = await gate(file, share);
    assert.equal(open.exitCode, 1);
    assert.equal(open.review[1]?.status, "inconclusive");
    add(file, "q7", "not-acceptable");
    const failed = await gate(file, share);
    assert.equal(failed.exitCode, 1);
    assert.equal(failed.review[1]?.status, "fail");
    assert.match(
      failed.review[1]?.message ?? "",
      /^review: 66\.7 % acceptable — 2 acceptable, 1 not acceptable, 0 unsure of 3 reviewed \(3 disagree\) — vs ≥ 95\.0 %: fail$/,
    );
    add(file, "q7", "acceptable");
    assert.equal((await gate(file, share)).exitCode, 0);
  });

  it("the report and the Markdown summary show the review counts and the reviewers", async () => {
    const html = join(dir, "report.html");
    const md = join(dir, "summary.md");
    const out = await qbench(["report", "--db", file, "--out", html, "--summary", md]);
    assert.equal(out.exitCode, 0, out.stderr);
    const summary = readFileSync(md, "utf8");
    assert.match(
      summary,
      /Reviews: q8_0 3\/3 reviewed \(3 acceptable, 0 not, 0 unsure; 0 regressions not reviewed\)\. By Ada Test\./,
    );
    const page = readFileSync(html, "utf8");
    assert.match(page, /Disagreeing outputs reviewed: <strong>3<\/strong>/);
    assert.match(page, /<strong class="reviewer">Ada Test<\/strong>/);
  });
});
