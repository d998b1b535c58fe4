/** How `threads: auto` picks a thread count from measured decode speeds: a pure rule, no I/O. */

/** One candidate's best decode speed. */
export interface ThreadsFigure {
  threads: number;
  tokensPerSecond: number;
}

/** 1, 2, 4, … below the core count, then the core count itself. */
export function threadCandidates(cores: number): number[] {
  if (!(Number.isInteger(cores) && cores >= 1)) {
    throw new TypeError(`cores must be a whole number ≥ 1, got ${cores}`);
  }
  const candidates: number[] = [];
  for (let t = 1; t < cores; t *= 2) candidates.push(t);
  candidates.push(cores);
  return candidates;
}

/** The fastest candidate; on a tie the fewer threads (they leave the cores to others). */
export function fastestThreads(figures: readonly ThreadsFigure[]): number {
  const best = [...figures].sort(
    (a, b) => b.tokensPerSecond - a.tokensPerSecond || a.threads - b.threads,
  )[0];
  if (!best) throw new TypeError("no measured thread counts to choose from");
  return best.threads;
}

/** "measured: 1 thread 178 tok/s vs 2 threads 61 tok/s, cached 2026-12-02", the chosen first. */
export function measuredReason(
  figures: readonly ThreadsFigure[],
  chosen: number,
  at: string,
): string {
  const ordered = [...figures].sort(
    (a, b) => Number(b.threads === chosen) - Number(a.threads === chosen) || a.threads - b.threads,
  );
  const speeds = ordered.map(
    (f) => `${f.threads} thread${f.threads === 1 ? "" : "s"} ${f.tokensPerSecond.toFixed(0)} tok/s`,
  );
  return `measured: ${speeds.join(" vs ")}, cached ${at.slice(0, 10)}`;
}
