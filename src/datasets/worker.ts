import { type MessagePort, workerData } from "node:worker_threads";
import { fetchHubDataset } from "./hub.js";
import { decodeParquet } from "./parquet.js";
import type { WorkerJob } from "./sync-worker.js";

const { job, port, done } = workerData as { job: WorkerJob; port: MessagePort; done: Int32Array };

async function run(): Promise<unknown> {
  if (job.kind === "parquet") return decodeParquet(job.file);
  return fetchHubDataset(job);
}

run().then(
  (value) => reply({ ok: true, value }),
  (error: unknown) =>
    reply({ ok: false, message: error instanceof Error ? error.message : String(error) }),
);

function reply(message: unknown): void {
  port.postMessage(message);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
}
