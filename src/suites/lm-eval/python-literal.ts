/**
 * Python's view of template values: what Jinja2 prints for a value (`str()`, so a list prints its
 * `repr`), and `ast.literal_eval`, which lm-eval applies to a rendered doc_to_choice.
 */

/** Python's `str(value)` for the values a dataset row holds. */
export function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

/** Python's `repr(value)`: lists as `['a', 'b']`, dicts as `{'k': 1}`, True / False / None. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return pyStringRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${pyStringRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
  }
  return String(value);
}

function pyNumber(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  return String(n);
}

/** repr of a str: single quotes unless the text has one and no double quote. */
function pyStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

/** `ast.literal_eval` for what templates print: strings, numbers, True/False/None, lists, tuples, dicts. */
export function literalEval(source: string): unknown {
  const parser = new LiteralParser(source);
  const value = parser.value();
  parser.end();
  return value;
}

class LiteralParser {
  private at = 0;
  constructor(private readonly text: string) {}

  value(): unknown {
    this.space();
    const c = this.text[this.at];
    if (c === "[" || c === "(") return this.sequence(c === "[" ? "]" : ")");
    if (c === "{") return this.dict();
    if (c === "'" || c === '"') return this.string();
    const word = /^(True|False|None)\b/.exec(this.text.slice(this.at));
    if (word) {
      this.at += (word[1] as string).length;
      return word[1] === "True" ? true : word[1] === "False" ? false : null;
    }
    const number = /^[-+]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][-+]?\d+)?/.exec(
      this.text.slice(this.at),
    );
    if (number) {
      this.at += number[0].length;
      return Number(number[0].replace(/_/g, ""));
    }
    this.fail("a literal");
  }

  end(): void {
    this.space();
    if (this.at < this.text.length) this.fail("the end");
  }

  private sequence(close: string): unknown[] {
    this.at++;
    const items: unknown[] = [];
    for (;;) {
      this.space();
      if (this.text[this.at] === close) break;
      items.push(this.value());
      this.space();
      if (this.text[this.at] === ",") this.at++;
      else if (this.text[this.at] !== close) this.fail(`"," or "${close}"`);
    }
    this.at++;
    return items;
  }

  private dict(): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.space();
      if (this.text[this.at] === "}") break;
      const key = this.value();
      this.space();
      if (this.text[this.at] !== ":") this.fail('":"');
      this.at++;
      out[String(key)] = this.value();
      this.space();
      if (this.text[this.at] === ",") this.at++;
      else if (this.text[this.at] !== "}") this.fail('"," or "}"');
    }
    this.at++;
    return out;
  }

  private string(): string {
    const quote = this.text[this.at] as string;
    this.at++;
    let out = "";
    while (this.at < this.text.length && this.text[this.at] !== quote) {
      const c = this.text[this.at] as string;
      if (c === "\n") this.fail("the closing quote");
      if (c !== "\\") {
        out += c;
        this.at++;
        continue;
      }
      const next = this.text[this.at + 1] ?? "";
      const simple: Record<string, string> = {
        n: "\n",
        t: "\t",
        r: "\r",
        "0": "\0",
        "\\": "\\",
        "'": "'",
        '"': '"',
        a: "\x07",
        b: "\b",
        f: "\f",
        v: "\v",
      };
      if (next in simple) {
        out += simple[next];
        this.at += 2;
      } else if (next === "x" || next === "u" || next === "U") {
        const width = next === "x" ? 2 : next === "u" ? 4 : 8;
        const hex = this.text.slice(this.at + 2, this.at + 2 + width);
        if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex))
          this.fail(`\\${next} and ${width} hex digits`);
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        this.at += 2 + width;
      } else {
        out += `\\${next}`;
        this.at += 2;
      }
    }
    if (this.at >= this.text.length) this.fail("the closing quote");
    this.at++;
    return out;
  }

  private space(): void {
    while (/\s/.test(this.text[this.at] ?? "")) this.at++;
  }

  private fail(expected: string): never {
    const near = JSON.stringify(this.text.slice(this.at, this.at + 20));
    throw new Error(
      `not a Python literal: expected ${expected} at character ${this.at + 1}, near ${near}`,
    );
  }
}
