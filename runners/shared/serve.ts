import { createInterface } from "node:readline";
import type {
  MethodName,
  Methods,
  RpcError,
  RpcRequest,
  RunnerErrorCode,
} from "../../src/runner-client/protocol.js";

/** An error a handler throws to answer with a stable `data.code`. */
export class RunnerError extends Error {
  readonly code: RunnerErrorCode;
  /** `cause`: the engine's error this one was made from, kept for the runner's own log. */
  constructor(code: RunnerErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.code = code;
  }
}

/** The message of anything thrown; a thrown non-Error is shown as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Handler<M extends MethodName> = (
  params: Methods[M]["params"],
  receivedAt: number,
) => Promise<Methods[M]["result"]> | Methods[M]["result"];

/** Optional methods: a runner without them answers "unknown method". */
type OptionalMethod =
  | "benchmark"
  | "scoreChoices"
  | "collectImatrix"
  | "swapWeights"
  | "tokenizeBatch"
  | "evaluateBatch";

export type Handlers = { [M in Exclude<MethodName, OptionalMethod>]: Handler<M> } & {
  [M in OptionalMethod]?: Handler<M>;
};

/** Protocol messages own stdout; anything a library prints goes to stderr, the runner's log. */
export function claimStdout(): (line: string) => void {
  const write = process.stdout.write.bind(process.stdout);
  const toLog = (...args: unknown[]) => {
    process.stderr.write(`${args.map(String).join(" ")}\n`);
  };
  console.log = toLog;
  console.info = toLog;
  console.debug = toLog;
  return (line) => {
    write(`${line}\n`);
  };
}

export function toRpcError(error: unknown): RpcError {
  if (error instanceof RunnerError) {
    return { code: -32000, message: error.message, data: { code: error.code } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: -32603, message, data: { code: "INTERNAL" } };
}

/** One request line from stdin, or `undefined` for a line that is not JSON. */
export interface Incoming {
  request: RpcRequest | undefined;
  /** performance.now() when the line arrived: the start of a request's timings. */
  receivedAt: number;
}

/** The protocol's requests on stdin, one per non-blank line, until stdin closes or the loop leaves. */
export async function* readRequests(): AsyncGenerator<Incoming> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      const receivedAt = performance.now();
      if (line.trim() === "") continue;
      let request: RpcRequest | undefined;
      try {
        request = JSON.parse(line) as RpcRequest;
      } catch {
        request = undefined;
      }
      yield { request, receivedAt };
    }
  } finally {
    lines.close();
  }
}

/** The answer to a line that is not JSON. */
export const PARSE_ERROR = JSON.stringify({
  jsonrpc: "2.0",
  id: null,
  error: { code: -32700, message: "parse error" },
});

/** Runs `request`'s handler; returns the response line: its result, its error, or "unknown method". */
export async function answer(
  handlers: Handlers,
  request: RpcRequest,
  receivedAt: number,
): Promise<string> {
  const handler = handlers[request.method as MethodName] as
    | ((params: unknown, receivedAt: number) => unknown)
    | undefined;
  if (!handler) {
    const error = { code: -32601, message: `unknown method ${request.method}` };
    return JSON.stringify({ jsonrpc: "2.0", id: request.id, error });
  }
  try {
    const result = await handler(request.params ?? {}, receivedAt);
    return JSON.stringify({ jsonrpc: "2.0", id: request.id, result: result ?? null });
  } catch (error) {
    return JSON.stringify({ jsonrpc: "2.0", id: request.id, error: toRpcError(error) });
  }
}

/**
 * Serves the protocol on stdin/stdout, one request at a time in arrival order.
 * Returns when stdin closes or after `shutdown`.
 */
export async function serve(handlers: Handlers): Promise<void> {
  const send = claimStdout();
  for await (const { request, receivedAt } of readRequests()) {
    send(request ? await answer(handlers, request, receivedAt) : PARSE_ERROR);
    if (request?.method === "shutdown") break;
  }
}

/** Peak resident set size (VmHWM) in bytes, where /proc exists. */
export async function readPeakRss(): Promise<number | undefined> {
  try {
    const { readFile } = await import("node:fs/promises");
    const status = await readFile("/proc/self/status", "utf8");
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
