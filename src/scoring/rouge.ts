// ROUGE as computed by Google's rouge-score package (rouge_scorer.RougeScorer with the
// default tokenizer and split_summaries=False). Scores are bit-identical to it: the
// fixture test in test/scoring/rouge.test.ts checks against the real package.
import { porterStem } from "./porter.js";

export interface RougeScore {
  precision: number;
  recall: number;
  f1: number;
}

export type RougeNType =
  | "rouge1"
  | "rouge2"
  | "rouge3"
  | "rouge4"
  | "rouge5"
  | "rouge6"
  | "rouge7"
  | "rouge8"
  | "rouge9";
export type RougeType = RougeNType | "rougeL" | "rougeLsum";

export const DEFAULT_ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"] as const;
export type DefaultRougeType = (typeof DEFAULT_ROUGE_TYPES)[number];

export interface RougeOptions<T extends RougeType = RougeType> {
  /** Which scores to compute; defaults to rouge1, rouge2, rougeL and rougeLsum. */
  types?: readonly T[];
  /** Porter-stem tokens longer than 3 characters (rouge-score's use_stemmer). */
  stem?: boolean;
}

const ZERO: RougeScore = { precision: 0, recall: 0, f1: 0 };

// Same operation order as rouge-score's scoring.fmeasure, so results match to the bit.
function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function score(precision: number, recall: number): RougeScore {
  return { precision, recall, f1: fmeasure(precision, recall) };
}

/**
 * rouge-score's tokenizer: lowercase, every run of characters outside [a-z0-9] becomes a
 * separator (so accented letters, CJK and emoji vanish), optional Porter stemming of tokens
 * longer than 3 characters, empty tokens dropped.
 */
export function tokenizeRouge(text: string, stem: boolean): string[] {
  const words = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .split(/\s+/);
  const stemmed = stem ? words.map((w) => (w.length > 3 ? porterStem(w) : w)) : words;
  return stemmed.filter((w) => /^[a-z0-9]+$/.test(w));
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    // Tokens are [a-z0-9]+, so a space cannot make two different n-grams collide.
    const key = tokens.slice(i, i + n).join(" ");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** ROUGE-N on n-gram multisets; precision is relative to the prediction. */
export function rougeN(
  predictionTokens: readonly string[],
  referenceTokens: readonly string[],
  n: number,
): RougeScore {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`rougeN requires n >= 1, got ${n}`);
  const pred = ngramCounts(predictionTokens, n);
  const ref = ngramCounts(referenceTokens, n);
  let overlap = 0;
  for (const [gram, count] of ref) overlap += Math.min(count, pred.get(gram) ?? 0);
  const predTotal = Math.max(predictionTokens.length - n + 1, 0);
  const refTotal = Math.max(referenceTokens.length - n + 1, 0);
  return score(overlap / Math.max(predTotal, 1), overlap / Math.max(refTotal, 1));
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = ai === b[j - 1] ? (prev[j - 1] ?? 0) + 1 : Math.max(prev[j] ?? 0, cur[j - 1] ?? 0);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] ?? 0;
}

/** ROUGE-L on the longest common subsequence of the two token sequences. */
export function rougeL(
  predictionTokens: readonly string[],
  referenceTokens: readonly string[],
): RougeScore {
  if (predictionTokens.length === 0 || referenceTokens.length === 0) return { ...ZERO };
  const lcs = lcsLength(referenceTokens, predictionTokens);
  return score(lcs / predictionTokens.length, lcs / referenceTokens.length);
}

// Indices into `ref` of one LCS of ref and can, picked with rouge-score's tie-breaking
// (_backtrack_norec), which decides the union below and so the rougeLsum score.
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const cols = can.length + 1;
  const t = new Int32Array((ref.length + 1) * cols);
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      t[i * cols + j] =
        ref[i - 1] === can[j - 1]
          ? (t[(i - 1) * cols + j - 1] ?? 0) + 1
          : Math.max(t[(i - 1) * cols + j] ?? 0, t[i * cols + j - 1] ?? 0);
    }
  }
  const out: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if ((t[i * cols + j - 1] ?? 0) > (t[(i - 1) * cols + j] ?? 0)) {
      j--;
    } else {
      i--;
    }
  }
  return out.reverse();
}

function countTokens(sentences: readonly (readonly string[])[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of sentences) for (const t of s) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/** Summary-level ROUGE-L (union LCS per reference sentence, no double counting). */
export function rougeLsum(
  predictionSentences: readonly (readonly string[])[],
  referenceSentences: readonly (readonly string[])[],
): RougeScore {
  const m = referenceSentences.reduce((acc, s) => acc + s.length, 0);
  const n = predictionSentences.reduce((acc, s) => acc + s.length, 0);
  if (m === 0 || n === 0) return { ...ZERO };
  const refCounts = countTokens(referenceSentences);
  const predCounts = countTokens(predictionSentences);
  let hits = 0;
  for (const ref of referenceSentences) {
    const union = new Set<number>();
    for (const can of predictionSentences) for (const idx of lcsIndices(ref, can)) union.add(idx);
    for (const idx of [...union].sort((a, b) => a - b)) {
      const token = ref[idx] as string;
      const c = predCounts.get(token) ?? 0;
      const r = refCounts.get(token) ?? 0;
      if (c > 0 && r > 0) {
        hits++;
        predCounts.set(token, c - 1);
        refCounts.set(token, r - 1);
      }
    }
  }
  return score(hits / n, hits / m);
}

// rouge-score splits on "\n" only and drops empty lines; whitespace-only lines stay as
// sentences with no tokens, which changes nothing.
function sentences(text: string, stem: boolean): string[][] {
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => tokenizeRouge(line, stem));
}

/**
 * Scores `prediction` against `reference` like rouge-score's
 * `RougeScorer(types, use_stemmer=stem).score(reference, prediction)`.
 */
export function scoreRouge<T extends RougeType = DefaultRougeType>(
  prediction: string,
  reference: string,
  options: RougeOptions<T> = {},
): Record<T, RougeScore> {
  const types = (options.types ?? DEFAULT_ROUGE_TYPES) as readonly T[];
  const stem = options.stem ?? false;
  let predTokens: string[] | undefined;
  let refTokens: string[] | undefined;
  const tokens = (): [string[], string[]] => {
    predTokens ??= tokenizeRouge(prediction, stem);
    refTokens ??= tokenizeRouge(reference, stem);
    return [predTokens, refTokens];
  };
  const result = {} as Record<T, RougeScore>;
  for (const type of types) {
    if (type === "rougeL") {
      result[type] = rougeL(...tokens());
    } else if (type === "rougeLsum") {
      result[type] = rougeLsum(sentences(prediction, stem), sentences(reference, stem));
    } else {
      const match = /^rouge([1-9])$/.exec(type);
      if (!match) throw new RangeError(`unknown ROUGE type: ${type}`);
      result[type] = rougeN(...tokens(), Number(match[1]));
    }
  }
  return result;
}
