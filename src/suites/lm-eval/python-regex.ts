/**
 * A Python `re` pattern as a JavaScript RegExp source and flags: a leading `(?s)`/`(?i)`/`(?m)`
 * becomes a flag, `(?P<name>…)` / `(?P=name)` become named groups, `\Z` / `\A` the ends.
 * What JavaScript cannot express (verbose mode, inline flags elsewhere) is refused.
 */
export function pythonRegex(pattern: string): { pattern: string; flags: string } {
  let source = pattern;
  let flags = "";
  const lead = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (lead) {
    for (const f of lead[1] as string) {
      if (f === "i" || f === "m" || f === "s") flags += f;
      else if (f !== "u") throw new Error(`the inline flag (?${f}) has no JavaScript equivalent`);
    }
    source = source.slice(lead[0].length);
  }
  if (/\(\?[aiLmsux]+[):]/.test(source)) {
    throw new Error("inline flags after the start of the pattern have no JavaScript equivalent");
  }
  source = source
    .replace(/\(\?P<([A-Za-z_]\w*)>/g, "(?<$1>")
    .replace(/\(\?P=([A-Za-z_]\w*)\)/g, "\\k<$1>")
    .replace(/\\Z/g, "$(?![\\s\\S])")
    .replace(/\\A/g, "^(?<![\\s\\S])");
  new RegExp(source, flags);
  return { pattern: source, flags: [...new Set(flags)].join("") };
}
