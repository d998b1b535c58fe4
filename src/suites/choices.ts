import Handlebars from "handlebars";
import { InputError, messageOf } from "../errors.js";
import type { Item, MultipleChoiceOptions } from "./schema.js";

/** One item's choices, rendered, and the gold one's index; errors name the item's file:line. */
export type ReadChoices = (
  item: Item,
  location: string,
  context: string,
) => { texts: string[]; gold: number };

/** Reads a multiple_choice metric's choices and gold from each item, as the metric says. */
export function readChoices(options: MultipleChoiceOptions, metricAt: string): ReadChoices {
  const templates = Array.isArray(options.choices)
    ? options.choices.map((text) => compileChoice(text, metricAt))
    : undefined;
  return (item, location, context) => {
    const texts = templates
      ? templates.map((render) => renderChoice(render, item, location))
      : fieldChoices(item, options.choices as string, location);
    texts.forEach((text, i) => {
      // lm-eval divides by the choice's length: an empty choice has none to divide by.
      if (text === "") {
        throw new InputError("BAD_SUITE", `choice ${i} is empty`, { location });
      }
    });
    if (options.blank !== undefined && !context.includes(options.blank)) {
      throw new InputError("BAD_SUITE", `the context has no blank "${options.blank}"`, {
        location,
      });
    }
    return { texts, gold: goldIndex(item, options.gold, texts, location) };
  };
}

function fieldChoices(item: Item, field: string, location: string): string[] {
  const value = item[field];
  if (!Array.isArray(value) || value.length < 2) {
    throw new InputError("BAD_SUITE", `field "${field}" must be a list of at least 2 choices`, {
      location,
    });
  }
  return value.map((choice, i) => {
    if (typeof choice !== "string" && typeof choice !== "number") {
      throw new InputError("BAD_SUITE", `field "${field}"[${i}] must be text`, { location });
    }
    return String(choice);
  });
}

/** The gold choice: an integer index, or a text that is one of the choices. */
function goldIndex(item: Item, field: string, texts: string[], location: string): number {
  const value = item[field];
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value >= texts.length) {
      throw new InputError(
        "BAD_SUITE",
        `gold "${field}" = ${value} is not a choice index (0 to ${texts.length - 1})`,
        { location },
      );
    }
    return value;
  }
  if (typeof value === "string") {
    const index = texts.indexOf(value);
    if (index < 0) {
      throw new InputError("BAD_SUITE", `gold "${field}" = "${value}" is not one of the choices`, {
        location,
      });
    }
    return index;
  }
  throw new InputError(
    "BAD_SUITE",
    `item lacks gold field "${field}" (an index or a choice's text)`,
    {
      location,
    },
  );
}

type Render = (item: Item) => string;

function compileChoice(text: string, location: string): Render {
  try {
    return Handlebars.compile(text, { noEscape: true, strict: true });
  } catch (error) {
    throw new InputError("BAD_SUITE", `bad choice template: ${messageOf(error)}`, {
      location,
      cause: error,
    });
  }
}

function renderChoice(render: Render, item: Item, location: string): string {
  try {
    return render(item);
  } catch (error) {
    throw new InputError("BAD_SUITE", `choice template: ${messageOf(error).split("\n")[0]}`, {
      location,
      cause: error,
    });
  }
}
