import { readFileSync } from "node:fs";
import { type Document, isNode, LineCounter, parseDocument, type ScalarTag, visit } from "yaml";
import type { ZodError } from "zod";
import { InputError, type InputErrorCode, messageOf } from "../errors.js";
import { MAX_FLOW_DEPTH, tooDeepAt } from "./depth.js";

/** A parsed YAML file that can point at the line of any path inside it. */
export interface YamlSource {
  file: string;
  value: unknown;
  locate(path: ReadonlyArray<PropertyKey>): string;
}

/** YAML's own guard against alias bombs ("billion laughs"): more alias expansions than this are refused. */
const MAX_ALIAS_COUNT = 100;

/**
 * Reads and parses a YAML file; `referencedAt` (file:line) is blamed if the file cannot be read.
 * `tags` are extra scalar tags (an lm-eval task's `!function`), so a reader can refuse them by line.
 */
export function readYamlFile(
  file: string,
  code: "BAD_PLAN" | "BAD_SUITE",
  referencedAt?: string,
  tags: ScalarTag[] = [],
): YamlSource {
  const text = readTextFile(file, code, referencedAt);
  const lineCounter = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    throw new InputError(code, `YAML nested more than ${MAX_FLOW_DEPTH} levels deep`, {
      location: `${file}:${text.slice(0, deep).split("\n").length}`,
    });
  }
  let doc: Document;
  try {
    doc = parseDocument(text, {
      lineCounter,
      prettyErrors: false,
      uniqueKeys: true,
      ...(tags.length > 0 ? { customTags: tags } : {}),
    });
  } catch (error) {
    throw unreadable(error, code, `${file}:1`);
  }
  const first = doc.errors[0];
  if (first) {
    const message = first.message.split("\n")[0] ?? first.message;
    // The parser reports running out of stack as a syntax error where it ran out.
    const reason = /call stack/i.test(message)
      ? "YAML nested too deeply"
      : `YAML syntax error: ${message}`;
    throw new InputError(code, reason, { location: at(first.pos[0]) });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // Alias errors (an alias bomb, an alias before its anchor) come from toJS, not the parser.
    const alias = firstAlias(doc);
    throw unreadable(error, code, alias === undefined ? `${file}:1` : at(alias));
  }
  return {
    file,
    value,
    locate: (path) => `${file}:${lineOf(doc, lineCounter, path)}`,
  };
}

/** A YAML document the parser or toJS gave up on (too deep, too many aliases): bad input, placed. */
function unreadable(error: unknown, code: InputErrorCode, location: string): InputError {
  const reason =
    error instanceof RangeError
      ? "YAML nested too deeply"
      : `YAML error: ${messageOf(error).split("\n")[0]}`;
  return new InputError(code, reason, { location, cause: error });
}

function firstAlias(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
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

/**
 * A text file's contents, without a byte-order mark. When it cannot be read the error is placed
 * at `referencedAt` (the file:line that names it) if given, else at the file itself.
 */
export function readTextFile(file: string, code: InputErrorCode, referencedAt?: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    const reason =
      errno === "ENOENT"
        ? "file not found"
        : errno === "EISDIR"
          ? "a folder, not a file"
          : messageOf(error);
    if (referencedAt === undefined)
      throw new InputError(code, reason, { location: file, cause: error });
    throw new InputError(code, `${reason}: ${file}`, { location: referencedAt, cause: error });
  }
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
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
