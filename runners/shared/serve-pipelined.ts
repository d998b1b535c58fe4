/**
 * The runner protocol served with pipelining: requests start as they arrive (up to a limit
 * that `load` may raise) and their answers are written in arrival order, as the protocol
 * requires. A client that sends several generate requests gets them served concurrently.
 */
import pLimit from "p-limit";
import { answer, claimStdout, type Handlers, PARSE_ERROR, readRequests } from "./serve.js";

/** Methods that change the runner's state run alone: nothing else is in flight meanwhile. */
const EXCLUSIVE = new Set<string>(["initialize", "load", "shutdown"]);

export interface PipelinedServer {
  /** Requests served at once (generate, tokenize, evaluate, memory). */
  setConcurrency(n: number): void;
}

export interface PipelineOptions {
  /**
   * Whether a method runs alone (default: initialize, load and shutdown): it waits for every
   * request before it, and every later one waits for it.
   */
  exclusive?: (method: string) => boolean;
  /** Requests served at once before `setConcurrency` is called (default 1). */
  concurrency?: number;
}

/** Serves the protocol until stdin closes or after `shutdown`. */
export async function servePipelined(
  makeHandlers: (server: PipelinedServer) => Handlers,
  options: PipelineOptions = {},
): Promise<void> {
  const send = claimStdout();
  const exclusive = options.exclusive ?? ((method: string) => EXCLUSIVE.has(method));
  const limit = pLimit(options.concurrency ?? 1);
  const handlers = makeHandlers({
    setConcurrency: (n) => {
      limit.concurrency = n;
    },
  });
  // Answers leave in arrival order: each waits for the one before it.
  let answered: Promise<void> = Promise.resolve();
  // An exclusive request waits for everything before it; later requests wait for it.
  let barrier: Promise<unknown> = Promise.resolve();
  const pending = new Set<Promise<string>>();
  for await (const { request, receivedAt } of readRequests()) {
    if (!request) {
      answered = answered.then(() => send(PARSE_ERROR));
      continue;
    }
    const run = () => answer(handlers, request, receivedAt);
    let reply: Promise<string>;
    if (exclusive(request.method)) {
      reply = Promise.allSettled([barrier, ...pending]).then(run);
      barrier = reply;
      pending.clear();
    } else {
      const concurrent = barrier.then(() => limit(run));
      pending.add(concurrent);
      void concurrent.finally(() => pending.delete(concurrent));
      reply = concurrent;
    }
    const ready = reply;
    answered = answered.then(async () => send(await ready));
    if (request.method === "shutdown") break;
  }
  await answered;
}
