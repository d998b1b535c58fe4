import type { ResolvedVariant } from "../plan/load.js";
import type { Plan } from "../plan/schema.js";
import type { Store } from "../store/store.js";
import type { Progress } from "./progress.js";
import type { Work } from "./work.js";

/** What one variant's session works with: the run's work, its store rows, its progress. */
export interface VariantContext {
  store: Store;
  runId: number;
  plan: Plan;
  work: Work;
  variant: ResolvedVariant;
  variantId: number;
  progress: Progress;
  /** The baseline's model file: what an exact KLD evaluates in lockstep (`plan.kldMethod`). */
  baselineModel?: string | undefined;
  /** The `threads: auto` cache file (threads-cache.ts); without it auto keeps the size rule. */
  threadsCache?: string | undefined;
  /** Aborted: the runner is killed at once and the session throws RunStopped. */
  signal?: AbortSignal | undefined;
}

/** The session stopped because its signal was aborted; nothing about the item in flight is stored. */
export class RunStopped extends Error {}

export function checkStopped(context: VariantContext): void {
  if (context.signal?.aborted) throw new RunStopped(`${context.variant.name} stopped`);
}
