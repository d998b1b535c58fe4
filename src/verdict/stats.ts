export { normalQuantile } from "../scoring/normal.js";

export type Judgement = "pass" | "fail" | "inconclusive";

/** An interval against a lower bound: above it entirely passes, below it entirely fails. */
export function judgeAtLeast(low: number, high: number, threshold: number): Judgement {
  if (low >= threshold) return "pass";
  if (high < threshold) return "fail";
  return "inconclusive";
}

/** An interval against an upper bound. */
export function judgeAtMost(low: number, high: number, threshold: number): Judgement {
  if (high <= threshold) return "pass";
  if (low > threshold) return "fail";
  return "inconclusive";
}
