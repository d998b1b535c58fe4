/** The mark shown before a reason of each status, in the terminal and in the report. */
export const MARK: Readonly<Record<string, string>> = {
  pass: "✓",
  fail: "✗",
  inconclusive: "?",
  warn: "!",
  info: "·",
};
