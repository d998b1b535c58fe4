import { createInterface } from "node:readline";
import { execa, type ResultPromise } from "execa";
import { BadRunnerResponse, RunnerFailure } from "../errors.js";
import type { MethodName, Methods, RpcResponse } from "./protocol.js";
import { checkResult, type ResultFlaw } from "./results.js";

/** How to start a runner process. */
export interface RunnerCommand {
  /** Shown in logs and stored with the variant. */
  name: string;
  file: string;
  args: string[];
}

interface Pending {
  method: MethodName;
  params: unknown;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const STDERR_TAIL_BYTES = 16 * 1024;

const SPAWN_OPTIONS = {
  stdin: "pipe",
  stdout: "pipe",
  stderr: "pipe",
  buffer: false,
  reject: false,
  // Its own process group: a Ctrl-C at the terminal reaches qbench, which stops its runners itself
  // (a runner whose qbench is gone sees its stdin close and exits).
  detached: true,
  forceKillAfterDelay: 2000,
} as const;

/** How a JSON-RPC error object fails the protocol (a string message, an optional string data.code). */
function errorFlaw(error: unknown): ResultFlaw | undefined {
  if (typeof error !== "object" || error === null) {
    return { field: "error", message: `expected object, got ${String(error)}` };
  }
  const { message, data } = error as { message?: unknown; data?: { code?: unknown } };
  if (typeof message !== "string") {
    return { field: "error.message", message: `expected string, got ${typeof message}` };
  }
  if (data !== undefined && (typeof data !== "object" || data === null)) {
    return { field: "error.data", message: `expected object, got ${String(data)}` };
  }
  if (data?.code !== undefined && typeof data.code !== "string") {
    return { field: "error.data.code", message: `expected string, got ${typeof data.code}` };
  }
  return undefined;
}

/** A JSON-RPC client over one runner process's stdio. */
export class RunnerClient {
  readonly command: RunnerCommand;
  private readonly process: ResultPromise<typeof SPAWN_OPTIONS>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = "";
  private exited: string | undefined;

  private constructor(command: RunnerCommand) {
    this.command = command;
    this.process = execa(command.file, command.args, SPAWN_OPTIONS);
    this.process.stderr.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
    });
    const lines = createInterface({
      input: this.process.stdout,
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    lines.on("line", (line) => this.receive(line));
    this.process.stdin.on("error", () => {
      // A runner that died mid-write: the exit handler below reports it.
    });
    void this.process.then((result) => {
      const why = result.signal
        ? `killed by ${result.signal}`
        : `exited with code ${result.exitCode}`;
      this.exited = why;
      for (const [id, call] of this.pending) {
        this.pending.delete(id);
        if (call.timer) clearTimeout(call.timer);
        call.reject(
          new RunnerFailure("crash", `runner ${this.command.name} ${why} during ${call.method}`, {
            stderrTail: this.stderrTail(),
          }),
        );
      }
    });
  }

  static start(command: RunnerCommand): RunnerClient {
    return new RunnerClient(command);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** The last lines of the runner's log, for failure reports. */
  stderrTail(lines = 40): string {
    return this.stderr
      .split("\n")
      .slice(-lines - 1)
      .join("\n")
      .trimEnd();
  }

  /**
   * Sends one request; rejects with a RunnerFailure on a JSON-RPC error, crash or timeout, and
   * with a BadRunnerResponse when the result does not match the method's schema.
   */
  request<M extends MethodName>(
    method: M,
    params: Methods[M]["params"],
    timeoutMs?: number,
  ): Promise<Methods[M]["result"]> {
    if (this.exited) {
      return Promise.reject(
        new RunnerFailure("crash", `runner ${this.command.name} ${this.exited} before ${method}`, {
          stderrTail: this.stderrTail(),
        }),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              this.kill();
              reject(
                new RunnerFailure(
                  "timeout",
                  `runner ${this.command.name} did not answer ${method} within ${timeoutMs} ms`,
                  { stderrTail: this.stderrTail() },
                ),
              );
            }, timeoutMs);
      this.pending.set(id, {
        method,
        params,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer,
      });
      this.process.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    });
  }

  private receive(line: string): void {
    if (line.trim() === "") return;
    let message: RpcResponse;
    try {
      message = JSON.parse(line) as RpcResponse;
    } catch {
      this.stderr = `${this.stderr}[stdout, not JSON-RPC] ${line}\n`.slice(-STDERR_TAIL_BYTES);
      return;
    }
    const call = message.id === null ? undefined : this.pending.get(message.id);
    if (!call || message.id === null) return;
    this.pending.delete(message.id);
    if (call.timer) clearTimeout(call.timer);
    const flaw =
      "error" in message
        ? errorFlaw(message.error)
        : checkResult(call.method, call.params as never, message.result);
    if (flaw) {
      const where = flaw.field === "" ? "the result itself" : flaw.field;
      call.reject(
        new BadRunnerResponse(
          call.method,
          flaw.field,
          `runner ${this.command.name} answered ${call.method} with a malformed ${"error" in message ? "error" : "result"}: ${where}: ${flaw.message}`,
          { stderrTail: this.stderrTail() },
        ),
      );
      return;
    }
    if ("error" in message) {
      call.reject(
        new RunnerFailure("error", message.error.message, {
          ...(message.error.data?.code ? { runnerCode: message.error.data.code } : {}),
          stderrTail: this.stderrTail(),
        }),
      );
      return;
    }
    call.resolve(message.result);
  }

  kill(): void {
    if (!this.exited) this.process.kill("SIGKILL");
  }

  /** Asks the runner to shut down; kills it if it does not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    try {
      await this.request("shutdown", {}, graceMs);
    } catch {
      this.kill();
    }
    this.process.stdin.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.process;
    clearTimeout(timer);
  }
}
