import { InputError } from "../errors.js";

/** One group's options: its bytes and measured KLD at each candidate type. */
export interface GroupChoices {
  name: string;
  options: { type: number; bytes: number; kld: number }[];
}

export interface MixSolution {
  /** Per group (same order), the index of the option chosen. */
  chosen: number[];
  bytes: number;
  /** Σ of the chosen options' KLD: the additive estimate of the mix's KLD. */
  estimatedKld: number;
  /** Whether the programme ran on exact bytes (else on bytes rounded up to 1/200,000 of the budget). */
  exact?: boolean;
}

const MAX_UNITS = 200_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The byte unit of the programme: the greatest common divisor of every option's bytes where the
 * budget is at most MAX_UNITS of it (then the search is exact), else budget / MAX_UNITS with
 * each option rounded up (never over the budget; optimal up to groups × unit bytes of slack).
 */
function unitFor(
  groups: readonly GroupChoices[],
  budget: number,
): { unit: number; exact: boolean } {
  let g = 0;
  for (const group of groups) for (const o of group.options) g = gcd(Math.round(o.bytes), g);
  if (g > 0 && budget / g <= MAX_UNITS) return { unit: g, exact: true };
  return { unit: budget / MAX_UNITS, exact: false };
}

/**
 * The mix with the least summed KLD whose bytes fit `budget`: an exact dynamic programme over
 * the multiple-choice knapsack (one option per group), in units of the bytes' common divisor
 * (exact) or of 1/200,000 of the budget (options rounded up, so never over it). Greedy upgrades by KLD saved per added byte are optimal only
 * where every group's KLD falls convexly with bits; measured KLDs need not (noise, fall-backs).
 */
export function searchMix(groups: readonly GroupChoices[], budget: number): MixSolution {
  const least = groups.reduce((sum, g) => sum + Math.min(...g.options.map((o) => o.bytes)), 0);
  if (least > budget) {
    throw new InputError(
      "BAD_USAGE",
      `--budget: ${budget} bytes of tensor data cannot hold even the smallest mix (${least} bytes, every group at its smallest type)`,
    );
  }
  const { unit, exact } = unitFor(groups, budget);
  const units = Math.floor(budget / unit + 1e-9);
  const cost = (bytes: number) =>
    Math.min(units + 1, exact ? Math.round(bytes / unit) : Math.ceil(bytes / unit - 1e-9));
  // best[u]: least KLD of the groups so far in at most u units.
  let best = new Float64Array(units + 1);
  const choice = groups.map(() => new Int8Array(units + 1));
  for (const [g, group] of groups.entries()) {
    const next = new Float64Array(units + 1).fill(Number.POSITIVE_INFINITY);
    const picks = choice[g] as Int8Array;
    for (const [o, option] of group.options.entries()) {
      const c = cost(option.bytes);
      for (let u = c; u <= units; u++) {
        const value = (best[u - c] as number) + option.kld;
        if (value < (next[u] as number)) {
          next[u] = value;
          picks[u] = o;
        }
      }
    }
    best = next;
  }
  if (!Number.isFinite(best[units] as number)) {
    // Rounding up made the least mix overflow: every group at its smallest option.
    const chosen = groups.map((g) => smallest(g));
    return solution(groups, chosen);
  }
  const chosen = new Array<number>(groups.length).fill(0);
  let u = units;
  for (let g = groups.length - 1; g >= 0; g--) {
    const o = (choice[g] as Int8Array)[u] as number;
    chosen[g] = o;
    u -= cost(groups[g]?.options[o]?.bytes ?? 0);
  }
  return { ...solution(groups, chosen), exact };
}

function smallest(group: GroupChoices): number {
  let at = 0;
  for (const [i, o] of group.options.entries()) {
    if (o.bytes < (group.options[at]?.bytes ?? Number.POSITIVE_INFINITY)) at = i;
  }
  return at;
}

function solution(groups: readonly GroupChoices[], chosen: number[]): MixSolution {
  let bytes = 0;
  let estimatedKld = 0;
  for (const [g, group] of groups.entries()) {
    const o = group.options[chosen[g] ?? 0];
    bytes += o?.bytes ?? 0;
    estimatedKld += o?.kld ?? 0;
  }
  return { chosen, bytes, estimatedKld };
}
