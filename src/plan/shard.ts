import { createHash } from "node:crypto";
import { InputError } from "../errors.js";

/** One slice of a plan's items: shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `i/n` (1-based, as users count shards) or `auto` from the scheduler's environment. */
export function parseShard(spec: string, env: NodeJS.ProcessEnv): Shard {
  if (spec === "auto") return shardFromEnvironment(env);
  const match = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const i = Number(match?.[1]);
  const n = Number(match?.[2]);
  if (!match || n < 1 || i < 1 || i > n) {
    throw new InputError(
      "BAD_USAGE",
      `--shard must be i/n with 1 ≤ i ≤ n (or auto), got "${spec}"`,
    );
  }
  return { index: i - 1, count: n };
}

/**
 * The shard a scheduler assigned: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX or a Slurm
 * array's SLURM_ARRAY_TASK_ID, with the count from QBENCH_SHARD_COUNT (or SLURM_ARRAY_TASK_COUNT).
 */
export function shardFromEnvironment(env: NodeJS.ProcessEnv): Shard {
  const count = Number(env.QBENCH_SHARD_COUNT ?? env.SLURM_ARRAY_TASK_COUNT);
  let index: number | undefined;
  if (env.JOB_COMPLETION_INDEX !== undefined) index = Number(env.JOB_COMPLETION_INDEX);
  else if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    index = Number(env.SLURM_ARRAY_TASK_ID) - Number(env.SLURM_ARRAY_TASK_MIN ?? 0);
  }
  if (index === undefined || !Number.isInteger(index) || !Number.isInteger(count) || count < 1) {
    throw new InputError(
      "BAD_USAGE",
      "--shard auto needs JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID (Slurm), and QBENCH_SHARD_COUNT or SLURM_ARRAY_TASK_COUNT",
    );
  }
  if (index < 0 || index >= count) {
    throw new InputError("BAD_USAGE", `shard index ${index} is outside 0…${count - 1}`);
  }
  return { index, count };
}

/**
 * The items of one suite that belong to a shard: items are ordered by a hash of their id (so the
 * split is stable across runs and machines and does not follow file order) and dealt round-robin,
 * so every shard gets ⌊n/count⌋ or ⌈n/count⌉ items of every suite.
 */
export function inShard<T>(
  suiteId: string,
  items: readonly T[],
  idOf: (item: T) => string,
  shard: Shard,
): T[] {
  if (shard.count === 1) return [...items];
  const ranked = items
    .map((item) => ({
      item,
      key: createHash("sha256")
        .update(`${suiteId}\u0000${idOf(item)}`)
        .digest("hex"),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return ranked.filter((_, rank) => rank % shard.count === shard.index).map((r) => r.item);
}
