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

function normalize(text: string, options: ExactMatchOptions): string {
  let out = text;
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
  const answer =
    options.regex === undefined ? prediction : extractAnswer(prediction, options.regex);
  return normalize(answer, options) === normalize(reference, options) ? 1 : 0;
}
