#!/usr/bin/env node
/**
 * Test helper: starts the OpenAI-compatible test server as a managed server, prints one JSON
 * line {serverPid, runnerPid, url}, then waits to be interrupted (SIGINT / SIGTERM) like qbench.
 * Usage: hold-managed-server.js <model.gguf> <port>
 */
import { fileURLToPath } from "node:url";
import { startManagedServer } from "../../../../src/runner-client/managed-server.js";

const [model, port] = process.argv.slice(2);
const script = fileURLToPath(new URL("../../../support/openai-server.js", import.meta.url));
const url = `http://127.0.0.1:${port}`;
const server = await startManagedServer({
  command: [process.execPath, script, "--model", model ?? "", "--port", port ?? "0"],
  url,
  health: "/health",
  readyTimeoutSeconds: 60,
  stopGraceSeconds: 5,
});
// The test server's first stdout line names its runner child.
const line = server
  .logTail(200)
  .split("\n")
  .find((l) => l.startsWith("{"));
const runnerPid = line ? (JSON.parse(line) as { runnerPid?: number }).runnerPid : undefined;
process.stdout.write(`${JSON.stringify({ serverPid: server.pid, runnerPid, url })}\n`);
setInterval(() => {}, 60_000);
