/** Deeper flow nesting than this is refused before parsing: no plan or suite needs it, and past a few thousand levels the parser runs out of stack at a depth that depends on the caller. */
export const MAX_FLOW_DEPTH = 100;

/**
 * The offset where `[`/`{` nesting outside quotes and comments first passes `max`, if it does.
 * A scan, not a parse: brackets inside plain or block scalars count too, which only matters for
 * a text that opens a hundred of them without closing any.
 */
export function tooDeepAt(text: string, max = MAX_FLOW_DEPTH): number | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
      else if (c === "\n" && quote === "'") quote = undefined;
    } else if (c === '"' || (c === "'" && /[\s[{,:]/.test(text[i - 1] ?? " "))) {
      quote = c;
    } else if (c === "#" && /\s/.test(text[i - 1] ?? " ")) {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end;
    } else if (c === "[" || c === "{") {
      depth++;
      if (depth > max) return i;
    } else if (c === "]" || c === "}") {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}
