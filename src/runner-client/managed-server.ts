/**
 * A model server qbench starts for a variant (`vllm serve …`, `llama-server -m …`): spawned in
 * its own process group, ready once its health endpoint answers 200, its log tail kept, and
 * stopped with all its children — also when qbench gets SIGINT / SIGTERM or exits.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { execa, type ResultPromise } from "execa";
import { InputError, RunnerFailure } from "../errors.js";

export interface ManagedServerSpec {
  /** The command and its arguments, e.g. ["llama-server", "-m", "model.gguf", "--port", "8080"]. */
  command: string[];
  /** Where the server answers, e.g. http://127.0.0.1:8080. */
  url: string;
  /** GET path that answers 200 once the model is loaded (llama-server, vLLM, SGLang, TGI: /health). */
  health?: string;
  readyTimeoutSeconds?: number;
  /** SIGTERM, then SIGKILL to the whole group after this long. */
  stopGraceSeconds?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** The full log (stdout and stderr) is written here as well, to keep with the variant. */
  logFile?: string;
}

export interface ManagedServer {
  readonly url: string;
  readonly pid: number;
  /** The last lines the server printed (stdout and stderr interleaved). */
  logTail(lines?: number): string;
  /** Stops the server and every process in its group; safe to call more than once. */
  stop(): Promise<void>;
}

const LOG_TAIL_BYTES = 64 * 1024;
const SPAWN_OPTIONS = {
  stdin: "ignore",
  stdout: "pipe",
  stderr: "pipe",
  buffer: false,
  reject: false,
  // Its own process group, so a stop reaches the server's children; cleanup is ours (below).
  detached: true,
  cleanup: false,
} as const;

const live = new Set<LiveServer>();

/** True while any process of the group is alive (signal 0 only checks). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class LiveServer implements ManagedServer {
  readonly url: string;
  readonly pid: number;
  exitedWith: string | undefined;
  private log = "";
  private readonly file: WriteStream | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly spec: ManagedServerSpec,
    private readonly child: ResultPromise<typeof SPAWN_OPTIONS>,
  ) {
    if (child.pid === undefined) throw new Error("spawn returned no pid");
    this.pid = child.pid;
    this.url = spec.url.replace(/\/+$/, "");
    this.file = spec.logFile ? createWriteStream(spec.logFile, { flags: "a" }) : undefined;
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString("utf8")).slice(-LOG_TAIL_BYTES);
      this.file?.write(chunk);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    void child.then((result) => {
      this.exitedWith = result.signal
        ? `killed by ${result.signal}`
        : `exited with code ${result.exitCode}`;
      if (result.failed && result.exitCode === undefined && !result.signal) {
        this.exitedWith = `could not start: ${result.shortMessage}`;
      }
    });
  }

  logTail(lines = 40): string {
    return this.log
      .split("\n")
      .slice(-lines - 1)
      .join("\n")
      .trimEnd();
  }

  stop(): Promise<void> {
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    const graceMs = (this.spec.stopGraceSeconds ?? 10) * 1000;
    signalGroup(this.pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (groupAlive(this.pid) && Date.now() < deadline) await sleep(50);
    if (groupAlive(this.pid)) {
      signalGroup(this.pid, "SIGKILL");
      while (groupAlive(this.pid)) await sleep(20);
    }
    await this.child;
    await new Promise<void>((resolve) => (this.file ? this.file.end(resolve) : resolve()));
    forget(this);
  }

  /** Last resort on process exit: nothing async runs there. */
  killNow(): void {
    signalGroup(this.pid, "SIGKILL");
  }
}

let handlersInstalled = false;

/** Stops every managed server, then lets the signal do what it would have done. */
function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`qbench: ${signal}: stopping ${live.size} managed server(s)\n`);
  void Promise.allSettled([...live].map((s) => s.stop())).then(() => {
    uninstall();
    process.kill(process.pid, signal);
  });
}

function onExit(): void {
  for (const server of live) server.killNow();
}

function install(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  process.on("exit", onExit);
}

function uninstall(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.off("SIGHUP", onSignal);
  process.off("exit", onExit);
}

function forget(server: LiveServer): void {
  live.delete(server);
  if (live.size === 0) uninstall();
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts the server and resolves once GET `url + health` answers 200. Fails with a
 * RunnerFailure carrying the log tail when the server exits first or misses the deadline
 * (`crash` / `timeout`); the server is stopped before the error is thrown.
 */
export async function startManagedServer(spec: ManagedServerSpec): Promise<ManagedServer> {
  const [file, ...args] = spec.command;
  if (!file) throw new InputError("BAD_PLAN", "server.command is empty");
  try {
    new URL(spec.url);
  } catch {
    throw new InputError("BAD_PLAN", `server.url is not a URL: ${spec.url}`);
  }
  const child = execa(file, args, {
    ...SPAWN_OPTIONS,
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
    ...(spec.env ? { env: spec.env } : {}),
  });
  if (child.pid === undefined) {
    const result = await child;
    throw new RunnerFailure("crash", `server ${file} could not start: ${result.shortMessage}`);
  }
  const server = new LiveServer(spec, child);
  live.add(server);
  install();
  const healthUrl = `${server.url}${spec.health ?? "/health"}`;
  const deadline = Date.now() + (spec.readyTimeoutSeconds ?? 600) * 1000;
  let wait = 100;
  while (!(await healthy(healthUrl))) {
    if (server.exitedWith !== undefined) {
      await server.stop();
      throw new RunnerFailure(
        "crash",
        `server ${file} ${server.exitedWith} before ${healthUrl} answered`,
        {
          stderrTail: server.logTail(),
        },
      );
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new RunnerFailure(
        "timeout",
        `server ${file} did not answer ${healthUrl} within ${spec.readyTimeoutSeconds ?? 600} s`,
        { stderrTail: server.logTail() },
      );
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 1000);
  }
  return server;
}

/** Stops every server started here (e.g. in a `finally` of a whole run). */
export async function stopAllManagedServers(): Promise<void> {
  await Promise.allSettled([...live].map((s) => s.stop()));
}
