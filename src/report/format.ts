/**
 * Number formatting for reports: locale-independent (the same bytes on every machine) and with
 * a real minus sign, so the HTML, Markdown and JUnit outputs are reproducible.
 */
export const DASH = "—";
const MINUS = "−";

const isNumber = (x: number | null | undefined): x is number =>
  typeof x === "number" && Number.isFinite(x);

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A fixed-point figure with thousands separators, or — when missing. */
export function fixed(x: number | null | undefined, digits: number): string {
  if (!isNumber(x)) return DASH;
  const text = Math.abs(x).toFixed(digits);
  const [whole = "0", fraction] = text.split(".");
  const sign = x < 0 && Number(text) !== 0 ? MINUS : "";
  return `${sign}${group(whole)}${fraction ? `.${fraction}` : ""}`;
}

/** Three significant figures for rates and latencies: 0.0123, 1.23, 12.3, 123, 1,234. */
export function figure(x: number | null | undefined): string {
  if (!isNumber(x)) return DASH;
  const a = Math.abs(x);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 3 : 4;
  return fixed(x, digits);
}

/** A share as a percentage: 0.621 → "62.1 %". */
export function percent(x: number | null | undefined, digits = 1): string {
  return isNumber(x) ? `${fixed(x * 100, digits)} %` : DASH;
}

/** A signed relative change: 0.012 → "+1.2 %", −0.5 → "−50.0 %". */
export function change(x: number | null | undefined, digits = 1): string {
  if (!isNumber(x)) return DASH;
  const text = fixed(x * 100, digits);
  return `${text.startsWith(MINUS) || Number(x.toFixed(digits + 2)) === 0 ? "" : "+"}${text} %`;
}

/** An interval of relative changes: "[−2.0 %, +0.4 %]". */
export function changeInterval(low: number, high: number, digits = 1): string {
  return `[${change(low, digits)}, ${change(high, digits)}]`;
}

/**
 * A ratio to the baseline (variant / baseline) as a signed change with its interval; exactly 1
 * with a zero-width interval is said as "no change", not "0.0 % [0.0 %, 0.0 %]".
 */
export function relativeChange(
  ratio: number,
  interval?: readonly [number, number],
): { change: string; interval: string | null; identical: boolean } {
  if (ratio === 1 && interval?.[0] === 1 && interval[1] === 1) {
    return { change: "no change (identical on every item)", interval: null, identical: true };
  }
  return {
    change: change(ratio - 1),
    interval: interval ? changeInterval(interval[0] - 1, interval[1] - 1) : null,
    identical: false,
  };
}

/** A speed ratio: 1.934 → "×1.93". */
export function times(x: number | null | undefined): string {
  return isNumber(x) ? `×${fixed(x, 2)}` : DASH;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Bytes in binary units with three significant figures: "3.53 GiB". */
export function bytes(x: number | null | undefined): string {
  if (!isNumber(x)) return DASH;
  let value = x;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? fixed(value, 0) : figure(value)} ${UNITS[unit]}`;
}

/** A count with separators; parameters in millions or billions. */
export function count(x: number | null | undefined): string {
  if (!isNumber(x)) return DASH;
  if (x >= 1e9) return `${figure(x / 1e9)} B`;
  if (x >= 1e6) return `${figure(x / 1e6)} M`;
  return fixed(x, 0);
}

/** A duration in milliseconds as ms, s or min. */
export function duration(ms: number | null | undefined): string {
  if (!isNumber(ms)) return DASH;
  if (ms < 1000) return `${figure(ms)} ms`;
  if (ms < 120_000) return `${figure(ms / 1000)} s`;
  return `${figure(ms / 60_000)} min`;
}

/** Shortens text to `max` characters, saying how much was left out. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never cut a surrogate pair in half.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}… [${fixed(text.length - end, 0)} more characters not shown]`;
}
