import type { ExactMatchOptions } from "../suites/schema.js";

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** SQuAD's answer normalisation: lowercase, no punctuation, no articles, single spaces. */
export function normalizeSquad(text: string): string {
  return text
    .toLowerCase()
    .replace(PUNCTUATION, "")
    .replace(/\b(a|an|the)\b/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
}

/** The answer a regex extracts: its first capture group, or the whole match; "" when none. */
export function extractAnswer(text: string, regex: string): string {
  const match = new RegExp(regex).exec(text);
  if (!match) return "";
  return match[1] ?? match[0];
}

/**
 * lm-eval's `regex` filter (lm_eval/filters/extraction.py): Python's findall, the match at
 * group_select (negative from the end); a match of several groups gives its first non-empty one;
 * stripped; the fallback when nothing matches.
 */
export function lmEvalRegexFilter(
  text: string,
  filter: { pattern: string; flags: string; group_select: number; fallback: string },
): string {
  const matches = [...text.matchAll(new RegExp(filter.pattern, `${filter.flags}g`))];
  if (matches.length === 0) return filter.fallback;
  const index =
    filter.group_select < 0 ? matches.length + filter.group_select : filter.group_select;
  const match = matches[index];
  // Python raises IndexError here; lm-eval's run would stop, so the fallback is the kind answer.
  if (match === undefined) return filter.fallback;
  const groups = match.slice(1);
  if (groups.length === 0) return match[0].trim();
  if (groups.length === 1) return (groups[0] ?? "").trim();
  const first = groups.find((g) => g !== undefined && g !== "");
  return first === undefined ? filter.fallback : first.trim();
}

function normalize(text: string, options: ExactMatchOptions): string {
  let out = text;
  for (const { pattern, flags } of options.regexes_to_ignore ?? []) {
    out = out.replace(new RegExp(pattern, `${flags}g`), "");
  }
  if (options.strip) out = out.trim();
  if (options.ignore_case) out = out.toLowerCase();
  if (options.ignore_punctuation) out = out.replace(PUNCTUATION, "");
  if (options.normalize === "squad") out = normalizeSquad(out);
  return out;
}

/** 1 when the prediction (after extraction and the chosen normalisation) equals the reference, else 0. */
export function exactMatch(
  prediction: string,
  reference: string,
  options: ExactMatchOptions,
): 0 | 1 {
  const filtered = options.filter ? lmEvalRegexFilter(prediction, options.filter) : prediction;
  const answer = options.regex === undefined ? filtered : extractAnswer(filtered, options.regex);
  return normalize(answer, options) === normalize(reference, options) ? 1 : 0;
}
