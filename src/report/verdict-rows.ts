import type { RunRecord } from "../store/records.js";
import { MARK } from "../verdict/marks.js";
import type { Reason, Verdict } from "../verdict/policy.js";
import { decidingFigure } from "./deciding-figure.js";
import { bytes, change, figure, times } from "./format.js";
import { baselineOf, type Timings } from "./performance.js";
import type { ReasonRow, VerdictRow } from "./view-model.js";

const ORDER = ["fail", "inconclusive", "warn", "pass", "info"];
const SHOWN_BLOCKING = 2;

function reasonRow(r: Reason): ReasonRow {
  return {
    status: r.status,
    mark: MARK[r.status] ?? "·",
    gate: r.gate,
    metric: r.metric,
    suite: r.suite ?? null,
    message: r.message,
    blocking: r.blocking,
  };
}

export function verdictRows(
  run: RunRecord,
  verdicts: Verdict[],
  timings: Map<string, Timings>,
  confidence: string,
) {
  const base = baselineOf(run);
  const baseTps = base ? timings.get(base.name)?.decodeTpsP50 : undefined;
  return run.variants.map((v): VerdictRow => {
    const verdict = verdicts.find((x) => x.variant === v.name);
    const reasons = verdict?.reasons ?? [];
    const blocking = reasons.filter((r) => r.blocking).map(reasonRow);
    const others = reasons
      .filter((r) => !r.blocking)
      .sort((a, b) => ORDER.indexOf(a.status) - ORDER.indexOf(b.status))
      .map(reasonRow);
    // The first blocking findings are enough to read; the rest wait behind a fold.
    const folded = [...blocking.slice(SHOWN_BLOCKING), ...others];
    const more = blocking.length - Math.min(blocking.length, SHOWN_BLOCKING);
    const tally = [
      ...(more > 0 ? [`${more} more that block${more === 1 ? "s" : ""}`] : []),
      ...ORDER.map((status) => [status, others.filter((r) => r.status === status).length] as const)
        .filter(([, n]) => n !== 0)
        .map(([status, n]) => `${n} ${status}`),
    ].join(" · ");
    const tps = timings.get(v.name)?.decodeTpsP50;
    const sizeSaving = base && !v.isBaseline ? v.modelBytes / base.modelBytes - 1 : null;
    return {
      variant: v.name,
      precision: v.precision,
      baseline: v.isBaseline,
      verdict: verdict?.verdict ?? "NO-SHIP",
      ship: verdict?.verdict === "SHIP",
      failed: v.status === "failed",
      error: v.error,
      size: bytes(v.modelBytes),
      sizeChange: sizeSaving === null ? null : change(sizeSaving),
      deciding: v.isBaseline ? null : decidingFigure(reasons, confidence),
      speed:
        tps !== undefined && Number.isFinite(tps)
          ? `${figure(tps)} tok/s${!v.isBaseline && baseTps ? ` (${times(tps / baseTps)})` : ""}`
          : null,
      blocking,
      others,
      shown: blocking.slice(0, SHOWN_BLOCKING),
      folded,
      tally: tally || "no other findings",
      busySeconds: (timings.get(v.name)?.busyMs ?? 0) / 1000,
    };
  });
}
