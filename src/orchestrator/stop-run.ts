import { InterruptedError, messageOf, RunError } from "../errors.js";
import { isDiskFull } from "../store/disk-full.js";
import type { Store } from "../store/store.js";
import type { Progress } from "./progress.js";
import { RunStopped } from "./session-context.js";

/** The run a stop happened in, if one was stored, and how many results it held before. */
export interface StoppedRun {
  runId: number;
  storedBefore: number;
}

export interface StopContext {
  planFile: string;
  dbPath: string;
  progress: Progress;
  signal?: AbortSignal | undefined;
  resumeCommand?: string | undefined;
}

/** What a run stopped part-way throws: interrupted by a signal, or by a full disk (exit 3). */
export function stopRun(
  store: Store,
  run: StoppedRun | undefined,
  error: unknown,
  context: StopContext,
): unknown {
  const signal = context.signal?.aborted ? (context.signal.reason as string) : undefined;
  const full = isDiskFull(error);
  if (!signal && !full && !(error instanceof RunStopped)) return error;
  context.progress.done();
  let stored = 0;
  try {
    if (run) {
      stored = store.countResults(run.runId) - run.storedBefore;
      store.interruptRun(run.runId);
    }
  } catch {
    // A full disk may not take even this: --resume finishes a `running` run all the same.
  }
  const resume = context.resumeCommand ?? `qbench run ${context.planFile} --resume`;
  if (full) {
    return new RunError(
      `the disk is full (${messageOf(error)}); ${run === undefined ? "no run was stored" : `run ${run.runId} stopped after ${stored} items`}. Free space, then \`${resume}\` finishes it`,
      { location: context.dbPath, cause: error },
    );
  }
  return new InterruptedError(
    signal === "SIGTERM" ? "SIGTERM" : "SIGINT",
    run === undefined
      ? "interrupted before the run started: no run was stored"
      : `interrupted after ${stored} items; \`${resume}\` finishes it`,
  );
}
