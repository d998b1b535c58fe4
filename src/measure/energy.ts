/**
 * Energy over the measured generations. Two sources: the kernel's RAPL counters
 * (`/sys/class/powercap/intel-rapl:N/energy_uj`, cumulative microjoules per CPU package, which
 * wrap at `max_energy_range_uj`), read at each mark; and a GPU power trace (watts sampled by
 * nvidia-smi beside the memory sampler), integrated between marks by the trapezoid rule.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** A point in time where energy is measured from or to. */
export interface EnergyMark {
  /** performance.now() milliseconds. */
  t: number;
  /** RAPL counters (µJ) per package, when that is the source. */
  counters?: number[];
}

export interface EnergySource {
  /** Where the figures come from, shown in the report (e.g. `RAPL package-0`, `nvidia-smi power.draw`). */
  readonly source: string;
  mark(): EnergyMark;
  /** Joules between two marks; undefined when the source has nothing for that span. */
  joulesBetween(from: EnergyMark, to: EnergyMark): number | undefined;
}

interface RaplDomain {
  name: string;
  energyPath: string;
  rangeUj: number;
}

/** The package-level RAPL domains readable under `root`, or why there are none. */
export function findRaplDomains(
  root = "/sys/class/powercap",
): { domains: RaplDomain[] } | { reason: string } {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return { reason: `no ${root} (no RAPL powercap interface on this machine)` };
  }
  const domains: RaplDomain[] = [];
  for (const entry of entries.sort()) {
    // Top-level zones only (intel-rapl:0), not subzones (intel-rapl:0:0, core/uncore/dram).
    if (!/^intel-rapl:\d+$/.test(entry)) continue;
    const dir = join(root, entry);
    try {
      const name = readFileSync(join(dir, "name"), "utf8").trim();
      const rangeUj = Number(readFileSync(join(dir, "max_energy_range_uj"), "utf8"));
      const energyPath = join(dir, "energy_uj");
      Number(readFileSync(energyPath, "utf8"));
      domains.push({ name, energyPath, rangeUj });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        reason: `${dir}/energy_uj is not readable (${code ?? "error"}; recent kernels allow root only)`,
      };
    }
  }
  return domains.length > 0 ? { domains } : { reason: `no package RAPL zone under ${root}` };
}

/** Energy from RAPL counters: whole CPU packages, so other work on the machine counts too. */
export class RaplEnergy implements EnergySource {
  readonly source: string;
  readonly #domains: RaplDomain[];

  constructor(domains: RaplDomain[]) {
    this.#domains = domains;
    this.source = `RAPL ${domains.map((d) => d.name).join(" + ")}`;
  }

  mark(): EnergyMark {
    const counters = this.#domains.map((d) => Number(readFileSync(d.energyPath, "utf8")));
    return { t: performance.now(), counters };
  }

  joulesBetween(from: EnergyMark, to: EnergyMark): number | undefined {
    if (!from.counters || !to.counters) return undefined;
    let uj = 0;
    this.#domains.forEach((d, i) => {
      const a = from.counters?.[i] ?? 0;
      const b = to.counters?.[i] ?? 0;
      // One wrap at most between marks (the range is minutes at full power).
      uj += b >= a ? b - a : b + d.rangeUj - a;
    });
    return uj / 1e6;
  }
}

export interface PowerSample {
  /** performance.now() milliseconds. */
  t: number;
  watts: number;
}

/**
 * Joules in [from, to] of a power trace, by the trapezoid rule; undefined where the trace does
 * not cover the span (up to `holdMs` before its first or after its last sample, whose power is
 * held there: the span's last sample may not have arrived when the sampler stops).
 */
export function integratePower(
  samples: readonly PowerSample[],
  from: number,
  to: number,
  holdMs = 0,
): number | undefined {
  if (to <= from) return 0;
  let first = samples[0];
  let last = samples[samples.length - 1];
  if (!first || !last || first.t > from + holdMs || last.t < to - holdMs) return undefined;
  if (first.t > from) first = { t: from, watts: first.watts };
  if (last.t < to) last = { t: to, watts: last.watts };
  samples = [first, ...samples.filter((s) => s.t > first.t && s.t < last.t), last];
  const at = (t: number): number => {
    let i = 1;
    while (i < samples.length && (samples[i] as PowerSample).t < t) i++;
    const a = samples[i - 1] as PowerSample;
    const b = samples[Math.min(i, samples.length - 1)] as PowerSample;
    return b.t === a.t ? a.watts : a.watts + ((b.watts - a.watts) * (t - a.t)) / (b.t - a.t);
  };
  const points: PowerSample[] = [{ t: from, watts: at(from) }];
  for (const s of samples) if (s.t > from && s.t < to) points.push(s);
  points.push({ t: to, watts: at(to) });
  let joules = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as PowerSample;
    const b = points[i] as PowerSample;
    joules += ((a.watts + b.watts) / 2) * ((b.t - a.t) / 1000);
  }
  return joules;
}

/** Energy from a GPU power trace that a sampler fills while the variant runs. */
export class PowerTraceEnergy implements EnergySource {
  readonly source: string;
  readonly samples: PowerSample[] = [];
  readonly #holdMs: number;

  /** `holdMs`: how far past the trace's ends a span may reach (about two sampling intervals). */
  constructor(source: string, holdMs = 0) {
    this.source = source;
    this.#holdMs = holdMs;
  }

  add(sample: PowerSample): void {
    this.samples.push(sample);
  }

  mark(): EnergyMark {
    return { t: performance.now() };
  }

  joulesBetween(from: EnergyMark, to: EnergyMark): number | undefined {
    return integratePower(this.samples, from.t, to.t, this.#holdMs);
  }
}

export interface EnergySummary {
  source: string;
  joules: number;
  seconds: number;
  meanWatts: number;
  /** Tokens generated in the measured spans. */
  tokens: number;
  joulesPerToken: number | undefined;
}

/** One measured generation: its marks on the source that measured it, and its tokens. */
export interface EnergySpan {
  source: EnergySource;
  from: EnergyMark;
  to: EnergyMark;
  tokens: number;
}

/** Sum over the measured spans (generations only), or why there is no figure. */
export function summarizeEnergy(spans: readonly EnergySpan[]): EnergySummary | { reason: string } {
  let joules = 0;
  let ms = 0;
  let tokens = 0;
  for (const span of spans) {
    const j = span.source.joulesBetween(span.from, span.to);
    if (j === undefined) return { reason: `${span.source.source} did not cover a generation` };
    joules += j;
    ms += span.to.t - span.from.t;
    tokens += span.tokens;
  }
  if (spans.length === 0 || ms <= 0) return { reason: "no measured generation" };
  return {
    source: [...new Set(spans.map((s) => s.source.source))].join(", "),
    joules,
    seconds: ms / 1000,
    meanWatts: joules / (ms / 1000),
    tokens,
    joulesPerToken: tokens > 0 ? joules / tokens : undefined,
  };
}
