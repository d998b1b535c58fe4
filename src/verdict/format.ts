import { EXIT } from "../exit-codes.js";
import { MARK } from "./marks.js";
import type { Verdict } from "./policy.js";

/** The verdicts as terminal text: one line per variant, then its reasons, blocking ones first. */
export function formatVerdicts(verdicts: readonly Verdict[]): string {
  const lines: string[] = ["verdict:"];
  for (const v of verdicts) {
    const tag = v.baseline ? " (baseline)" : "";
    lines.push(`  ${v.verdict.padEnd(7)} ${v.variant} [${v.precision}]${tag}`);
    const reasons = [...v.reasons].sort((a, b) => Number(b.blocking) - Number(a.blocking));
    for (const r of reasons) {
      lines.push(`    ${MARK[r.status] ?? "·"} ${r.message}${r.blocking ? "  ← blocks" : ""}`);
    }
  }
  return lines.join("\n");
}

/** 0 when every variant ships, 1 when any does not (the exit-code contract). */
export function verdictExitCode(verdicts: readonly Verdict[]): number {
  return verdicts.every((v) => v.verdict === "SHIP") ? EXIT.ok : EXIT.noShip;
}
