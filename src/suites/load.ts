import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import Handlebars from "handlebars";
import { type DatasetEnv, datasetEnv } from "../datasets/load.js";
import { InputError, messageOf } from "../errors.js";
import { perplexityText } from "../scoring/perplexity.js";
import { MAX_FLOW_DEPTH, tooDeepAt } from "../yaml/depth.js";
import { readTextFile, readYamlFile, zodToInputError } from "../yaml/source.js";
import { readChoices } from "./choices.js";
import { isLmEvalTask, loadLmEvalTask } from "./lm-eval/load-task.js";
import { type Item, type Metric, type MultipleChoiceOptions, SuiteHeader } from "./schema.js";

export interface SuiteItem {
  id: string;
  /** The rendered prompt (few-shot examples included); empty for perplexity-only suites. */
  prompt: string;
  reference: string | undefined;
  /** The text a `perplexity: {field}` metric scores. */
  text: string | undefined;
  /** file:line of the item, for error messages. */
  location: string;
  /** A multiple-choice item's choices (rendered) and the gold one's index. */
  choices?: { texts: string[]; gold: number } | undefined;
}

export interface LoadedSuite {
  id: string;
  file: string;
  description: string;
  metrics: Metric[];
  generation: SuiteHeader["generation"];
  items: SuiteItem[];
  /** Set when the suite scores one text file llama-perplexity style. */
  perplexityFile:
    | { path: string; text: string; ctx: number | undefined /** file:line of ctx */; ctxAt: string }
    | undefined;
  /** sha256 of everything that defines the suite's items and scoring. */
  hash: string;
}

export function isGenerationMetric(metric: Metric): boolean {
  return "exact_match" in metric || "rouge" in metric;
}

/** The suite's multiple-choice metric, if it has one. */
export function choiceMetric(suite: {
  metrics: readonly Metric[];
}): MultipleChoiceOptions | undefined {
  for (const metric of suite.metrics)
    if ("multiple_choice" in metric) return metric.multiple_choice;
  return undefined;
}

export interface SuiteOptions {
  /** The plan's seed: an lm-eval task draws its few-shot examples with it. */
  seed?: number;
  /** Where an lm-eval task's Hub dataset is cached and fetched from; by default the environment's. */
  datasets?: DatasetEnv;
}

/** Loads and validates a suite file (qbench's form or an lm-eval task); every error names the file and line. */
export function loadSuite(
  file: string,
  referencedAt?: string,
  options: SuiteOptions = {},
): LoadedSuite {
  const source = readYamlFile(file, "BAD_SUITE", referencedAt);
  if (isLmEvalTask(source.value)) {
    return loadLmEvalTask(file, referencedAt, {
      seed: options.seed ?? 42,
      env: options.datasets ?? datasetEnv(process.env),
    });
  }
  const parsed = SuiteHeader.safeParse(source.value ?? {});
  if (!parsed.success) throw zodToInputError(source, parsed.error, "BAD_SUITE");
  const header = parsed.data;
  const dir = dirname(file);
  const hash = createHash("sha256").update(JSON.stringify(header));
  const perplexityFile = header.metrics.find((m) => "perplexity" in m && m.perplexity.file);
  const needsGeneration = header.metrics.some(isGenerationMetric);

  if (perplexityFile && "perplexity" in perplexityFile && perplexityFile.perplexity.file) {
    if (header.metrics.length > 1) {
      throw new InputError("BAD_SUITE", "a perplexity file suite takes no other metrics", {
        location: source.locate(["metrics"]),
      });
    }
    const path = resolve(dir, perplexityFile.perplexity.file);
    const index = header.metrics.indexOf(perplexityFile);
    const fileAt = source.locate(["metrics", index, "perplexity", "file"]);
    const text = perplexityText(readTextFile(path, "BAD_SUITE", fileAt));
    if (text.trim() === "")
      throw new InputError("BAD_SUITE", "perplexity text is empty", { location: path });
    hash.update(text);
    return {
      ...suiteBase(header, file),
      items: [],
      perplexityFile: {
        path,
        text,
        ctx: perplexityFile.perplexity.ctx,
        ctxAt: source.locate(["metrics", index, "perplexity", "ctx"]),
      },
      hash: hash.digest("hex"),
    };
  }

  const choice = choiceMetric(header);
  const likelihood = header.metrics.find(
    (m) => "loglikelihood" in m || "loglikelihood_rolling" in m,
  );
  const kind = choice ? "multiple_choice" : likelihood ? Object.keys(likelihood)[0] : undefined;
  if (kind && header.metrics.length > 1) {
    throw new InputError("BAD_SUITE", `a ${kind} suite takes no other metrics`, {
      location: source.locate(["metrics"]),
    });
  }
  const llTarget =
    likelihood && "loglikelihood" in likelihood ? likelihood.loglikelihood.target : undefined;
  const rollingField =
    likelihood && "loglikelihood_rolling" in likelihood
      ? likelihood.loglikelihood_rolling.field
      : undefined;
  if (needsGeneration && header.target === undefined) {
    throw new InputError("BAD_SUITE", "exact_match and rouge need a target field", {
      location: source.locate(["metrics"]),
    });
  }
  const templateText = readTemplate(header, dir, source.locate);
  if ((needsGeneration || choice || llTarget !== undefined) && templateText === undefined) {
    throw new InputError(
      "BAD_SUITE",
      "a generation or multiple_choice suite needs prompt (a file) or template",
      {
        location: source.locate([]),
      },
    );
  }
  const templateAt = source.locate([header.template !== undefined ? "template" : "prompt"]);
  const render = templateText === undefined ? undefined : compileTemplate(templateText, templateAt);
  const raw =
    header.data !== undefined
      ? readJsonl(resolve(dir, header.data), source.locate(["data"]))
      : inlineItems(header, source.locate);
  if (header.data !== undefined) hash.update(raw.map((r) => JSON.stringify(r.item)).join("\n"));
  if (templateText !== undefined) hash.update(templateText);
  if (raw.length === 0)
    throw new InputError("BAD_SUITE", "the suite has no items", { location: source.locate([]) });

  const textField = header.metrics.find((m) => "perplexity" in m);
  const required = [
    ...header.fields,
    ...(header.target ? [header.target] : []),
    ...(llTarget !== undefined ? [llTarget] : []),
    ...(rollingField !== undefined ? [rollingField] : []),
  ];
  if (textField && "perplexity" in textField && textField.perplexity.field) {
    required.push(textField.perplexity.field);
  }
  const fewshot = render
    ? header.fewshot
        .map((example, i) => {
          const prompt = renderItem(render, example, source.locate(["fewshot", i]));
          return prompt + String(example[header.target ?? ""] ?? "");
        })
        .join(header.fewshot_separator)
    : "";
  const prefix = fewshot ? fewshot + header.fewshot_separator : "";
  const metricIndex = header.metrics.findIndex((m) => "multiple_choice" in m);
  const choices = choice
    ? readChoices(choice, source.locate(["metrics", metricIndex, "multiple_choice"]))
    : undefined;
  const ids = new Set<string>();
  const items = raw.map(({ item, location, index }) => {
    for (const name of required) {
      if (item[name] === undefined || item[name] === null) {
        throw new InputError("BAD_SUITE", `item lacks field "${name}"`, { location });
      }
    }
    const id = item.id === undefined ? String(index + 1) : String(item.id);
    if (ids.has(id)) throw new InputError("BAD_SUITE", `duplicate item id "${id}"`, { location });
    ids.add(id);
    const textName =
      textField && "perplexity" in textField ? textField.perplexity.field : undefined;
    const prompt = render ? prefix + renderItem(render, item, location) : "";
    const picked = choices?.(item, location, prompt);
    return {
      id,
      prompt,
      reference: picked
        ? picked.texts[picked.gold]
        : llTarget !== undefined
          ? String(item[llTarget])
          : header.target === undefined
            ? undefined
            : String(item[header.target]),
      text:
        rollingField !== undefined
          ? String(item[rollingField])
          : textName === undefined
            ? undefined
            : String(item[textName]),
      location,
      choices: picked,
    };
  });
  return { ...suiteBase(header, file), items, perplexityFile: undefined, hash: hash.digest("hex") };
}

/** What every suite carries from its header. */
function suiteBase(header: SuiteHeader, file: string) {
  return {
    id: header.id,
    file,
    description: header.description,
    metrics: header.metrics,
    generation: header.generation,
  };
}

function readTemplate(
  header: SuiteHeader,
  dir: string,
  locate: (path: PropertyKey[]) => string,
): string | undefined {
  if (header.template !== undefined && header.prompt !== undefined) {
    throw new InputError("BAD_SUITE", "give prompt (a file) or template (inline), not both", {
      location: locate(["template"]),
    });
  }
  if (header.template !== undefined) return header.template;
  if (header.prompt === undefined) return undefined;
  // An editor's final newline is not part of the prompt; write "\n\n" at the end to keep one.
  // CRLF (a Windows checkout) reads as LF, so the model sees the same prompt on every machine.
  return readTextFile(resolve(dir, header.prompt), "BAD_SUITE", locate(["prompt"]))
    .replace(/\r\n/g, "\n")
    .replace(/\n$/, "");
}

type Render = (item: Item) => string;

function compileTemplate(text: string, location: string): Render {
  try {
    // Prompts are plain text for a model, not HTML: no escaping; strict so a missing field fails.
    const template = Handlebars.compile(text, { noEscape: true, strict: true });
    template({});
  } catch (error) {
    if (!/not defined in/.test(String(error))) {
      const message = messageOf(error).replace(/\n/g, " ").replace(/\s+/g, " ");
      throw new InputError("BAD_SUITE", `bad prompt template: ${message}`, {
        location,
        cause: error,
      });
    }
  }
  return Handlebars.compile(text, { noEscape: true, strict: true });
}

function renderItem(render: Render, item: Item, location: string): string {
  try {
    return render(item);
  } catch (error) {
    throw new InputError("BAD_SUITE", `prompt template: ${templateMessage(error, item)}`, {
      location,
      cause: error,
    });
  }
}

/** Handlebars' first line, with the item's fields where it names "[object Object]". */
function templateMessage(error: unknown, item: Item): string {
  return (messageOf(error).split("\n")[0] ?? "")
    .replace(" in [object Object]", ` in the item (its fields: ${Object.keys(item).join(", ")})`)
    .replace(/ - (\d+):(\d+)$/, " (template line $1, column $2)");
}

interface RawItem {
  item: Item;
  location: string;
  index: number;
}

function inlineItems(header: SuiteHeader, locate: (path: PropertyKey[]) => string): RawItem[] {
  return (header.items ?? []).map((item, index) => ({
    item,
    index,
    location: locate(["items", index]),
  }));
}

/** Reads a JSONL file; a malformed line is an error naming file and line. */
export function readJsonl(file: string, referencedAt?: string): RawItem[] {
  const text = readTextFile(file, "BAD_SUITE", referencedAt);
  const items: RawItem[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const location = `${file}:${i + 1}`;
    // Refused before parsing: past the stack, parse and hash would fail where the stack ends.
    if (tooDeepAt(line) !== undefined) {
      throw new InputError("BAD_SUITE", `nested more than ${MAX_FLOW_DEPTH} levels deep`, {
        location,
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError("BAD_SUITE", `invalid JSON: ${messageOf(error)}`, {
        location,
        cause: error,
      });
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new InputError("BAD_SUITE", "each line must be a JSON object", { location });
    }
    items.push({ item: value as Item, location, index: items.length });
  });
  return items;
}
