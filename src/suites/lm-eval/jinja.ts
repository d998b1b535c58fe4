import nunjucks from "nunjucks";
import { pyStr } from "./python-literal.js";

/** A compiled template: the doc's fields in, text out (throws on a field it lacks). */
export type Render = (doc: Record<string, unknown>) => string;

let environment: nunjucks.Environment | undefined;

/**
 * lm-eval renders with Jinja2 (`Environment(undefined=StrictUndefined, keep_trailing_newline=True)`)
 * over Python values, so its templates call str methods (`question.strip()`), index from the end
 * (`text.split(' ')[-1]`), slice (`[:-1]`) and print lists as Python does (`{{choices.text}}` →
 * `['a', 'b']`, which it then `literal_eval`s). nunjucks is Jinja's grammar in JavaScript; its
 * jinja-compat layer adds slices, True/False/None and list/dict methods, and qbench adds str
 * methods, negative indexes and Python's printing. nunjucks keeps these in its runtime module,
 * so they are installed once, here, and qbench uses nunjucks nowhere else.
 */
function jinja(): nunjucks.Environment {
  if (environment) return environment;
  nunjucks.installJinjaCompat();
  const runtime = nunjucks.runtime as unknown as {
    memberLookup: (obj: unknown, key: unknown, ...rest: unknown[]) => unknown;
    suppressValue: (value: unknown, autoescape: boolean) => unknown;
  };
  const lookup = runtime.memberLookup;
  runtime.memberLookup = function memberLookup(obj, key, ...rest) {
    if (rest.length === 0) {
      if (typeof obj === "string" && typeof key === "string" && Object.hasOwn(STR_METHODS, key)) {
        const method = STR_METHODS[key] as (self: string, ...args: unknown[]) => unknown;
        return (...args: unknown[]) => method(obj, ...args);
      }
      if ((typeof obj === "string" || Array.isArray(obj)) && typeof key === "number" && key < 0) {
        return (obj as ArrayLike<unknown>)[obj.length + key];
      }
    }
    return lookup.call(this, obj, key, ...rest);
  };
  // Off (autoescape false), the value is printed as it is: Python's str() of it instead.
  runtime.suppressValue = (value) => (value === undefined || value === null ? "" : pyStr(value));
  environment = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
  environment.addFilter("string", (value: unknown) => pyStr(value));
  // lm-eval's own filter (lm_eval/utils.py): re.sub(pattern, repl, string, count).
  environment.addFilter(
    "regex_replace",
    (text: string, pattern: string, repl: string, count = 0) => {
      let left = count > 0 ? count : Number.POSITIVE_INFINITY;
      return String(text).replace(new RegExp(pattern, "g"), (match) => (left-- > 0 ? repl : match));
    },
  );
  return environment;
}

/** Compiles a Jinja template; a syntax error names the template's line and column. */
export function compileJinja(text: string): Render {
  const template = new nunjucks.Template(text, jinja(), undefined, true);
  return (doc) => template.render(doc);
}

/** nunjucks' message on one line, the template's line and column after it, without "(unknown path)". */
export function jinjaMessage(error: unknown): string {
  let message = (error instanceof Error ? error.message : String(error))
    .replace(/^(Template render error: )?\(unknown path\)\s*/, "")
    .replace(
      "attempted to output null or undefined value",
      "a value the doc lacks (undefined or None)",
    );
  const at = /\[Line (\d+), Column (\d+)\]/.exec(message);
  if (at) message = `${message.replace(at[0], "")} (template line ${at[1]}, column ${at[2]})`;
  return message.replace(/\s*\n\s*/g, " ").trim();
}

const isSpace = (c: string) => /\s/.test(c);

function stripChars(text: string, chars: unknown, left: boolean, right: boolean): string {
  const drop = typeof chars === "string" ? (c: string) => chars.includes(c) : isSpace;
  const cs = [...text];
  let start = 0;
  let end = cs.length;
  if (left) while (start < end && drop(cs[start] as string)) start++;
  if (right) while (end > start && drop(cs[end - 1] as string)) end--;
  return cs.slice(start, end).join("");
}

/** Python's str.split: no separator splits on runs of whitespace; maxsplit keeps the rest whole. */
function split(text: string, sep?: unknown, maxsplit: unknown = -1): string[] {
  const limit = typeof maxsplit === "number" && maxsplit >= 0 ? maxsplit : Number.POSITIVE_INFINITY;
  if (sep === undefined || sep === null) {
    const out: string[] = [];
    let rest = text.replace(/^\s+/, "");
    while (rest !== "") {
      if (out.length >= limit) {
        out.push(rest.replace(/\s+$/, ""));
        break;
      }
      const m = /\s+/.exec(rest);
      if (!m) {
        out.push(rest);
        break;
      }
      out.push(rest.slice(0, m.index));
      rest = rest.slice(m.index + m[0].length);
    }
    return out;
  }
  const s = String(sep);
  if (s === "") throw new Error("ValueError: empty separator");
  const parts = text.split(s);
  if (parts.length - 1 <= limit) return parts;
  return [...parts.slice(0, limit), parts.slice(limit).join(s)];
}

function startsOrEnds(text: string, what: unknown, ends: boolean): boolean {
  const options = Array.isArray(what) ? what.map(String) : [String(what)];
  return options.some((o) => (ends ? text.endsWith(o) : text.startsWith(o)));
}

/** The str methods lm-eval's templates call, with Python's semantics. */
const STR_METHODS: Record<string, (self: string, ...args: unknown[]) => unknown> = {
  strip: (s, chars) => stripChars(s, chars, true, true),
  lstrip: (s, chars) => stripChars(s, chars, true, false),
  rstrip: (s, chars) => stripChars(s, chars, false, true),
  split: (s, sep, maxsplit) => split(s, sep, maxsplit),
  splitlines: (s) =>
    s.split(/\r\n|\r|\n/).filter((line, i, all) => i < all.length - 1 || line !== ""),
  replace: (s, old, replacement, count = -1) => {
    const parts = s.split(String(old));
    const n = typeof count === "number" && count >= 0 ? count : parts.length;
    return parts.reduce(
      (out, part, i) =>
        i === 0 ? part : out + (i <= n ? String(replacement) : String(old)) + part,
      "",
    );
  },
  startswith: (s, prefix) => startsOrEnds(s, prefix, false),
  endswith: (s, suffix) => startsOrEnds(s, suffix, true),
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  capitalize: (s) => (s === "" ? s : (s[0] as string).toUpperCase() + s.slice(1).toLowerCase()),
  title: (s) =>
    s
      .toLowerCase()
      .replace(/(^|[^a-zA-Z])([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase()),
  join: (s, items) => (Array.isArray(items) ? items.map(String).join(s) : String(items)),
  find: (s, sub) => s.indexOf(String(sub)),
  index: (s, sub) => {
    const i = s.indexOf(String(sub));
    if (i < 0) throw new Error(`ValueError: substring ${JSON.stringify(sub)} not found`);
    return i;
  },
  count: (s, sub) => (String(sub) === "" ? s.length + 1 : s.split(String(sub)).length - 1),
  isdigit: (s) => /^\p{Nd}+$/u.test(s),
  isalpha: (s) => /^\p{L}+$/u.test(s),
  isspace: (s) => /^\s+$/.test(s),
};
