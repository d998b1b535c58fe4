import { readFileSync } from "node:fs";
import { type Document, isNode, LineCounter, parseDocument } from "yaml";
import type { ZodError } from "zod";
import { InputError, type InputErrorCode } from "../errors.js";

/** A parsed YAML file that can point at the line of any path inside it. */
export interface YamlSource {
  file: string;
  value: unknown;
  locate(path: ReadonlyArray<PropertyKey>): string;
}

export function readYamlFile(
  file: string,
  code: "BAD_PLAN" | "BAD_SUITE",
  text = readTextFile(file, code),
): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    const message = first.message.split("\n")[0] ?? first.message;
    throw new InputError(code, `YAML syntax error: ${message}`, {
      location: `${file}:${line}:${col}`,
    });
  }
  return {
    file,
    value: doc.toJS(),
    locate: (path) => `${file}:${lineOf(doc, lineCounter, path)}`,
  };
}

/** A plan file's YAML, which must be a mapping. */
export function readPlanSource(file: string): YamlSource {
  const source = readYamlFile(file, "BAD_PLAN");
  const value = source.value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError("BAD_PLAN", "a plan is a YAML mapping", { location: `${file}:1` });
  }
  return source;
}

export function readTextFile(file: string, code: InputErrorCode): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(error);
    throw new InputError(code, reason, { location: file, cause: error });
  }
}

/** The line of the deepest node along `path` that exists (a missing key points at its parent). */
function lineOf(doc: Document, lineCounter: LineCounter, path: ReadonlyArray<PropertyKey>): number {
  let line = 1;
  for (let depth = 0; depth <= path.length; depth++) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) line = lineCounter.linePos(node.range[0]).line;
    else break;
  }
  return line;
}

/** The line of a key inside the map at `path` (for unknown keys). */
function lineOfKey(doc: YamlSource, path: ReadonlyArray<PropertyKey>, key: string): string {
  return doc.locate([...path, key]);
}

/** Turns the first zod issue into an InputError that names file, line and field. */
export function zodToInputError(
  source: YamlSource,
  error: ZodError,
  code: "BAD_PLAN" | "BAD_SUITE",
  pathPrefix: ReadonlyArray<PropertyKey> = [],
): InputError {
  const first = error.issues[0];
  if (!first) return new InputError(code, "invalid file", { location: source.file });
  const { issue, path: inner } = mostSpecific(first);
  const path = [...pathPrefix, ...inner];
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const where = field(path);
    return new InputError(code, `unknown key "${key}"${where ? ` in ${where}` : ""}`, {
      location: lineOfKey(source, path, key),
    });
  }
  const where = field(path);
  return new InputError(code, `${where ? `${where}: ` : ""}${issue.message}`, {
    location: source.locate(path),
  });
}

type Issue = ZodError["issues"][number];

/**
 * A union's own issue only says "Invalid input" at the union: descend into the branch that got
 * furthest (the longest path, e.g. the object form of a variant rather than its string form).
 */
function mostSpecific(issue: Issue): { issue: Issue; path: PropertyKey[] } {
  if (issue.code !== "invalid_union" || issue.errors.length === 0)
    return { issue, path: [...issue.path] };
  const candidates = issue.errors
    .map((branch) => branch[0])
    .filter((i): i is Issue => i !== undefined)
    .map((i) => mostSpecific(i));
  const score = (c: { issue: Issue; path: PropertyKey[] }) =>
    c.path.length * 2 +
    (c.issue.code === "invalid_type" || c.issue.code === "invalid_value" ? 0 : 1);
  const best = candidates.reduce((a, b) => (score(b) > score(a) ? b : a));
  return { issue: best.issue, path: [...issue.path, ...best.path] };
}

function field(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`))
    .join("");
}
