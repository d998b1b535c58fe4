import type { Reason } from "../verdict/policy.js";
import { figure, fixed, relativeChange } from "./format.js";
import type { DecidingFigure } from "./view-model.js";

const RANK = ["fail", "inconclusive", "warn", "pass", "info"];
const COMPARED = new Set(["quality", "perplexity"]);

/** How far a quality or perplexity finding lies on the bad side of the baseline (0 = none). */
function loss(r: Reason): number {
  if (r.value === null) return 0;
  return r.gate === "quality" ? 1 - r.value : r.value - 1;
}

/** The finding that decides a verdict: the first that blocks, else the weakest quality finding. */
export function decidingReason(reasons: readonly Reason[]): Reason | undefined {
  const blocking = reasons.find((r) => r.blocking);
  if (blocking) return blocking;
  let weakest: Reason | undefined;
  for (const r of reasons) {
    if (!COMPARED.has(r.gate)) continue;
    const rank = RANK.indexOf(r.status) - RANK.indexOf(weakest?.status ?? "info");
    if (!weakest || rank < 0 || (rank === 0 && loss(r) > loss(weakest))) weakest = r;
  }
  return weakest;
}

function outcome(r: Reason): string {
  if (r.blocking) return r.status === "fail" ? "blocks" : `${r.status}, blocks`;
  if (r.status === "pass") return "passes";
  if (r.status === "inconclusive") return "inconclusive, does not block";
  return r.status === "warn" ? "warning" : "for information";
}

function label(r: Reason): string {
  const on = r.suite ? ` on ${r.suite}` : "";
  if (r.gate === "perplexity") return `perplexity${on}`;
  if (r.gate === "kld") return `${r.metric === "p99_kld" ? "p99 KLD" : "mean KLD"}${on}`;
  if (r.gate === "length") return "completion length";
  if (r.gate === "failures") return r.metric === "baseline" ? "baseline" : "run";
  if (r.gate === "review") return "people's review";
  return `${r.metric}${on}`;
}

/** A ratio to the baseline as a signed change and its interval, or why there is none. */
function versusBaseline(
  r: Reason,
  confidence: string,
): Pick<DecidingFigure, "figure" | "interval"> {
  if (r.value === null) {
    return {
      figure:
        r.n === 0 ? "no item scored by both" : "no ratio: the baseline scores 0 (no evidence)",
      interval: null,
    };
  }
  const rel = relativeChange(r.value, r.interval);
  const tooFew = r.interval === undefined && r.n !== undefined;
  return {
    figure: rel.identical ? rel.change : `${rel.change} vs baseline`,
    interval: rel.interval
      ? `${confidence} CI ${rel.interval}`
      : tooFew
        ? `n=${fixed(r.n, 0)}: too few pairs for an interval`
        : null,
  };
}

function reviewFigure(r: Reason): Pick<DecidingFigure, "figure" | "interval"> {
  if (r.metric === "unreviewed_regressions") {
    return {
      figure: `${fixed(r.value, 0)} of ${fixed(r.n, 0)} regressions not reviewed`,
      interval: null,
    };
  }
  if (r.value === null) return { figure: "nothing reviewed", interval: null };
  const share = (x: number) => `${fixed(x * 100, 1)} %`;
  return {
    figure: `${share(r.value)} acceptable (limit ≥ ${share(r.threshold ?? 0)})`,
    interval: r.interval ? `${share(r.interval[0])}–${share(r.interval[1])} with the unsure` : null,
  };
}

function absolute(r: Reason, confidence: string): Pick<DecidingFigure, "figure" | "interval"> {
  if (r.gate === "failures") {
    return {
      figure:
        r.metric === "failed_items"
          ? `${fixed(r.value, 0)} failed items (${fixed(r.threshold, 0)} allowed)`
          : r.metric === "baseline"
            ? "did not complete"
            : "did not run to the end",
      interval: null,
    };
  }
  if (r.gate === "review") return reviewFigure(r);
  if (r.value === null) return { figure: "not measured", interval: null };
  // KLD figures are small (0.00103); budgets and speeds read best with separators.
  const show = (x: number) => (r.gate === "kld" ? x.toPrecision(3) : figure(x));
  const limit =
    r.threshold === null
      ? ""
      : r.gate === "speed"
        ? ` tok/s vs baseline ${show(r.threshold)}`
        : ` (limit ${r.metric === "decode_tps_p50" ? "≥" : "≤"} ${show(r.threshold)})`;
  return {
    figure: `${show(r.value)}${limit}`,
    interval: r.interval
      ? `${confidence} CI [${show(r.interval[0])}, ${show(r.interval[1])}]`
      : null,
  };
}

/** The deciding finding as the verdict table shows it: what, its figure, and what it means. */
export function decidingFigure(
  reasons: readonly Reason[],
  confidence: string,
): DecidingFigure | null {
  const r = decidingReason(reasons);
  if (!r) return null;
  const ratio = r.gate === "quality" || r.gate === "perplexity" || r.gate === "length";
  return {
    what: label(r),
    ...(ratio ? versusBaseline(r, confidence) : absolute(r, confidence)),
    outcome: outcome(r),
    status: r.status,
  };
}
