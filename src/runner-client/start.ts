import { RunnerClient, type RunnerCommand } from "./client.js";
import type { InitializeResult, LoadParams, LoadResult } from "./protocol.js";

export interface StartedRunner {
  client: RunnerClient;
  init: InitializeResult;
  loaded: LoadResult;
}

/** Spawns a runner, initializes it and loads the model; kills it if any step fails. */
export async function startRunner(
  command: RunnerCommand,
  load: LoadParams,
  loadTimeoutMs: number,
  hooks: { onSpawn?: (client: RunnerClient) => Promise<void> } = {},
): Promise<StartedRunner> {
  const client = RunnerClient.start(command);
  try {
    // Before load: a memory sampler measures the idle level before the model is on the device.
    await hooks.onSpawn?.(client);
    const init = await client.request("initialize", {}, 30_000);
    const loaded = await client.request("load", load, loadTimeoutMs);
    return { client, init, loaded };
  } catch (error) {
    client.kill();
    throw error;
  }
}
