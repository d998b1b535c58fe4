import { compileJinja, jinjaMessage, type Render } from "./jinja.js";
import { literalEval } from "./python-literal.js";

type Doc = Record<string, unknown>;

/** A doc_to_text / doc_to_target / doc_to_choice setting as lm-eval reads it (ConfigurableTask). */
export type DocField = (doc: Doc) => unknown;

/** Thrown for one doc; the caller adds the row's location and the key's line. */
export class DocFieldError extends Error {}

/**
 * lm-eval's `doc_to_text` / `doc_to_target`: an int is itself; a name of one of the dataset's
 * columns is that column's value; else a template, whose output is an int when it is all digits
 * and the task has choices (`text_string.isdigit()` → `ast.literal_eval`); for a target, a
 * rendered `[...]` is literal_eval'd too (a list of targets) when it parses.
 */
export function docToTextOrTarget(
  setting: unknown,
  features: ReadonlySet<string>,
  hasChoices: boolean,
  isTarget: boolean,
): DocField {
  if (typeof setting === "number") return () => setting;
  if (Array.isArray(setting)) return () => setting;
  if (typeof setting !== "string") return () => undefined;
  if (features.has(setting)) return (doc) => doc[setting];
  const render = compile(setting);
  return (doc) => {
    const text = render(doc);
    if (hasChoices && /^\d+$/.test(text)) return Number(text);
    if (isTarget && text.length >= 2 && text.startsWith("[") && text.endsWith("]")) {
      try {
        return literalEval(text);
      } catch {
        return text;
      }
    }
    return text;
  };
}

/** lm-eval's `doc_to_choice`: a column's list, a template literal_eval'd, a list, a dict's values. */
export function docToChoice(setting: unknown, features: ReadonlySet<string>): DocField {
  if (Array.isArray(setting)) return () => setting;
  if (setting !== null && typeof setting === "object") return () => Object.values(setting);
  if (typeof setting !== "string") return () => undefined;
  if (features.has(setting)) return (doc) => doc[setting];
  const render = compile(setting);
  return (doc) => {
    const text = render(doc);
    try {
      return literalEval(text);
    } catch (error) {
      throw new DocFieldError(
        `renders ${JSON.stringify(text.slice(0, 80))}, ${(error as Error).message}`,
      );
    }
  };
}

/** lm-eval's `resolve_field` (the description): a column's value, else a template. */
export function resolveField(setting: string, features: ReadonlySet<string>): DocField {
  if (setting === "") return () => "";
  if (features.has(setting)) return (doc) => doc[setting];
  return compile(setting);
}

function compile(text: string): Render {
  let render: Render;
  try {
    render = compileJinja(text);
  } catch (error) {
    throw new DocFieldError(`bad template: ${jinjaMessage(error)}`);
  }
  return (doc) => {
    try {
      return render(doc);
    } catch (error) {
      const fields = Object.keys(doc).join(", ");
      throw new DocFieldError(`template: ${jinjaMessage(error)} (the doc's fields: ${fields})`);
    }
  };
}
