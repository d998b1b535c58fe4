import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { RunnerFailure } from "../../../src/errors.js";
import { startManagedServer } from "../../../src/runner-client/managed-server.js";
import { tempDir } from "../../support/cli.js";
import { model, SUPPORT } from "../../support/paths.js";

const MODEL = model("stories260K-f16.gguf");
const TEST_SERVER = join(SUPPORT, "openai-server.js");
const HOLDER = fileURLToPath(new URL("./support/hold-managed-server.js", import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Alive and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

async function eventuallyDead(pid: number, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(pid), false, `${what} (pid ${pid}) is still running`);
}

async function portClosed(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

const node = (code: string) => [process.execPath, "-e", code];

describe("managed server (real processes: the OpenAI-compatible test server and small node servers)", () => {
  it("waits for health, keeps the log, and stops the server with its children", async () => {
    const port = await freePort();
    const logFile = join(tempDir(), "server.log");
    const server = await startManagedServer({
      command: [process.execPath, TEST_SERVER, "--model", MODEL, "--port", String(port)],
      url: `http://127.0.0.1:${port}/`,
      readyTimeoutSeconds: 60,
      logFile,
    });
    assert.equal(server.url, `http://127.0.0.1:${port}`);
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: unknown[] };
    assert.equal(models.data.length, 1);
    const announced = JSON.parse(server.logTail().split("\n")[0] ?? "{}") as { runnerPid: number };
    assert.ok(alive(announced.runnerPid));
    await server.stop();
    await eventuallyDead(server.pid, "the server");
    await eventuallyDead(announced.runnerPid, "the server's llama.cpp runner child");
    assert.ok(await portClosed(server.url));
    assert.match(readFileSync(logFile, "utf8"), /"runnerPid"/);
    await server.stop();
  });

  it("fails with the server's log when it exits before it is healthy", async () => {
    const port = await freePort();
    await assert.rejects(
      startManagedServer({
        command: node("console.error('cannot load model.gguf'); process.exit(3)"),
        url: `http://127.0.0.1:${port}`,
      }),
      (e) => {
        assert.ok(e instanceof RunnerFailure);
        assert.equal(e.kind, "crash");
        assert.match(
          e.message,
          /exited with code 3 before http:\/\/127\.0\.0\.1:\d+\/health answered/,
        );
        assert.match(e.stderrTail, /cannot load model\.gguf/);
        return true;
      },
    );
  });

  it("fails when the command cannot be started", async () => {
    await assert.rejects(
      startManagedServer({ command: ["/nonexistent/qbench-server"], url: "http://127.0.0.1:9" }),
      (e) =>
        e instanceof RunnerFailure &&
        e.kind === "crash" &&
        /could not start|ENOENT/.test(e.message),
    );
  });

  it("gives up at the readiness deadline and leaves nothing running", async () => {
    const port = await freePort();
    const started = Date.now();
    let pid = 0;
    await assert.rejects(
      startManagedServer({
        command: node("console.log('pid', process.pid); setInterval(() => {}, 1000)"),
        url: `http://127.0.0.1:${port}`,
        readyTimeoutSeconds: 1,
      }),
      (e) => {
        assert.ok(e instanceof RunnerFailure);
        assert.equal(e.kind, "timeout");
        pid = Number(/pid (\d+)/.exec(e.stderrTail)?.[1]);
        return true;
      },
    );
    assert.ok(Date.now() - started < 8000);
    assert.ok(pid > 0);
    await eventuallyDead(pid, "the server that never became healthy");
  });

  it("kills a server that ignores SIGTERM after the grace period", async () => {
    const port = await freePort();
    const server = await startManagedServer({
      command: node(
        `process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
         require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1');`,
      ),
      url: `http://127.0.0.1:${port}`,
      health: "/",
      stopGraceSeconds: 0.5,
    });
    await server.stop();
    await eventuallyDead(server.pid, "the server ignoring SIGTERM");
    assert.match(server.logTail(), /ignoring SIGTERM/);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`leaves no server or server child behind when the process that started it gets ${signal}`, async () => {
      const port = await freePort();
      const holder = execa(process.execPath, [HOLDER, MODEL, String(port)], {
        reject: false,
        buffer: false,
        stdout: "pipe",
        stderr: "pipe",
      });
      let stderr = "";
      holder.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      const line = await new Promise<string>((resolve, reject) => {
        holder.stdout.once("data", (c: Buffer) => resolve(c.toString()));
        void holder.then(() => reject(new Error(`holder exited early: ${stderr}`)));
      });
      const { serverPid, runnerPid, url } = JSON.parse(line) as {
        serverPid: number;
        runnerPid: number;
        url: string;
      };
      assert.ok(alive(serverPid) && alive(runnerPid));
      assert.equal(await portClosed(url), false);
      holder.kill(signal);
      const result = await holder;
      // The holder stops the server, then dies of the same signal, as qbench would.
      assert.equal(result.signal, signal, stderr);
      assert.match(stderr, new RegExp(`${signal}: stopping 1 managed server`));
      await eventuallyDead(serverPid, "the managed server");
      await eventuallyDead(runnerPid, "the managed server's child");
      assert.ok(await portClosed(url));
    });
  }
});
