import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { execa } from "execa";
import { qbench, tempDir, writeFiles } from "../support/cli.js";
import { model, ROOT, SUPPORT } from "../support/paths.js";
import { writeClozeSuite } from "../support/plans.js";

const PORT = 18000 + (process.pid % 1000);

describe("a variant served over HTTP, with a server qbench starts and stops (OpenAI-compatible test server over llama.cpp)", () => {
  it("runs the generation suite through the http runner, skips perplexity it cannot measure, and stops the server", async () => {
    const dir = tempDir();
    const suite = writeClozeSuite(dir, 6);
    writeFiles(dir, {
      "ppl.yaml": `id: ppl\nmetrics:\n  - perplexity: { file: ${join(ROOT, "test/fixtures/ppl/stories.txt")}, ctx: 128 }\n`,
      "plan.yaml": [
        "name: served",
        "variants:",
        "  - name: local",
        `    model: ${model("stories260K-f16.gguf")}`,
        "  - name: served",
        "    runner: http",
        "    model: auto",
        `    http: { baseUrl: "http://127.0.0.1:${PORT}", server: llama-server }`,
        "    server:",
        `      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(SUPPORT, "openai-server.js"))}, --model, ${JSON.stringify(model("stories260K-f16.gguf"))}, --port, "${PORT}"]`,
        "      health: /health",
        "      readyTimeoutSeconds: 60",
        "suites:",
        `  - ${suite}`,
        `  - ${join(dir, "ppl.yaml")}`,
        "backend: cpu",
        "threads: 1",
        "warmup: 0",
        "gates: { inconclusive: ship }",
      ].join("\n"),
    });
    const db = join(dir, "run.db");
    const out = await qbench(["run", join(dir, "plan.yaml"), "--db", db]);
    assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);
    const conn = new Database(db, { readonly: true });
    const rows = conn
      .prepare(
        `SELECT v.name, r.item_id, r.output FROM results r JOIN variants v ON v.id = r.variant_id
         WHERE r.suite_id = 'cloze' AND r.status = 'ok' ORDER BY r.item_id, v.name`,
      )
      .all() as Array<{ name: string; item_id: string; output: string }>;
    const byItem = new Map<string, Record<string, string>>();
    for (const r of rows) byItem.set(r.item_id, { ...byItem.get(r.item_id), [r.name]: r.output });
    assert.equal(byItem.size, 6);
    for (const [item, outputs] of byItem)
      assert.equal(outputs.served, outputs.local, `greedy text of ${item}`);
    const skip = conn.prepare("SELECT suite_id, reason FROM variant_skips").all() as Array<{
      suite_id: string;
      reason: string;
    }>;
    assert.equal(skip[0]?.suite_id, "ppl");
    assert.match(skip[0]?.reason ?? "", /llama-server/);
    const status = conn.prepare("SELECT name, status FROM variants ORDER BY id").all();
    assert.deepEqual(status, [
      { name: "local", status: "complete" },
      { name: "served", status: "complete" },
    ]);
    conn.close();
    const listening = await execa("sh", ["-c", `ss -ltn | grep -c ':${PORT} ' || true`]);
    assert.equal(listening.stdout.trim(), "0", "the managed server is gone");
  });
});
