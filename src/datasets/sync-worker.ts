import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { HubRequest } from "./hub.js";

/** A job the worker runs: decode a Parquet file, or fetch a Hub dataset's files into the cache. */
export type WorkerJob = { kind: "parquet"; file: string } | ({ kind: "hub" } & HubRequest);

type Reply = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * Runs an async job to completion on a worker thread and waits for it here. Suites load
 * synchronously (the plan is checked before anything runs), while hyparquet and fetch are
 * async: blocking on the worker keeps one loading path instead of making every loader async.
 */
export function runSync(job: WorkerJob, timeoutMs = 600_000): unknown {
  const { port1, port2 } = new MessageChannel();
  const done = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL("./worker.js", import.meta.url), {
    workerData: { job, port: port2, done },
    transferList: [port2],
  });
  try {
    const waited = Atomics.wait(done, 0, 0, timeoutMs);
    const message = receiveMessageOnPort(port1)?.message as Reply | undefined;
    if (waited === "timed-out" && message === undefined) {
      throw new Error(`timed out after ${timeoutMs} ms`);
    }
    if (message === undefined) throw new Error("the dataset worker ended without a reply");
    if (!message.ok) throw new Error(message.message);
    return message.value;
  } finally {
    void worker.terminate();
    port1.close();
  }
}
