import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { type DatasetEnv, loadSplits } from "../../datasets/load.js";
import { InputError, messageOf } from "../../errors.js";
import { zodToInputError } from "../../yaml/source.js";
import type { LoadedSuite, SuiteItem } from "../load.js";
import { DocFieldError, docToChoice, docToTextOrTarget, resolveField } from "./doc-fields.js";
import { fewshotSampler } from "./fewshot.js";
import { taskGeneration, taskMetric } from "./metrics.js";
import { pyStr } from "./python-literal.js";
import { functionRefs, readTaskFile } from "./read-task.js";
import { TaskConfig } from "./task-config.js";
import { refuseUnsupported } from "./unsupported.js";

type Doc = Record<string, unknown>;

export interface TaskOptions {
  /** The plan's seed: few-shot examples are drawn with it. */
  seed: number;
  env: DatasetEnv;
}

/** A YAML mapping that is an lm-eval task rather than a qbench suite (it names a task, not metrics). */
export function isLmEvalTask(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return !keys.includes("metrics") && (keys.includes("task") || keys.includes("include"));
}

/**
 * Reads an lm-eval task file as a qbench suite: its data (local files or the Hub), its templates
 * rendered per doc (Jinja, via nunjucks), the few-shot context built as `fewshot_context` builds it,
 * and its output type as the matching qbench metric. Anything it cannot honour is refused by line.
 */
export function loadLmEvalTask(
  file: string,
  referencedAt: string | undefined,
  options: TaskOptions,
): LoadedSuite {
  const source = readTaskFile(file, referencedAt);
  const refs = functionRefs(source.value);
  const first = refs[0];
  if (first) {
    const key = first.path.map(String).join(".");
    throw new InputError(
      "BAD_SUITE",
      `${key} is Python (!function ${first.ref.name}); qbench runs no Python, so this task cannot be read as it is — write its docs out already processed (docs/lm-eval.md)`,
      { location: source.locate(first.path) },
    );
  }
  const parsed = TaskConfig.safeParse(source.value);
  if (!parsed.success) throw zodToInputError(source, parsed.error, "BAD_SUITE");
  const config = parsed.data;
  const locate = source.locate;
  refuseUnsupported(config, locate);
  const metric = taskMetric(config, locate, {
    choices: pyStr(config.doc_to_choice ?? ""),
    gold: pyStr(config.doc_to_target ?? ""),
  });
  const generation = taskGeneration(config, locate);

  const evalSplit = config.test_split ?? config.validation_split;
  if (!evalSplit) {
    throw new InputError("BAD_SUITE", "the task has neither test_split nor validation_split", {
      location: locate(["task"]),
    });
  }
  const shots = config.num_fewshot ?? 0;
  const poolSplit =
    config.fewshot_config?.split ??
    config.fewshot_split ??
    config.training_split ??
    config.validation_split ??
    config.test_split ??
    evalSplit;
  const splits = loadSplits(
    {
      path: config.dataset_path,
      name: config.dataset_name ?? undefined,
      dataFiles: dataFiles(config.dataset_kwargs?.data_files),
      revision: config.dataset_kwargs?.revision,
      baseDir: dirname(file),
      at: locate(["dataset_path"]),
    },
    shots > 0 ? [evalSplit, poolSplit] : [evalSplit],
    options.env,
  );
  const rows = splits.get(evalSplit) ?? [];
  if (rows.length === 0) {
    throw new InputError("BAD_SUITE", `split "${evalSplit}" has no docs`, {
      location: locate(["dataset_path"]),
    });
  }
  const features = new Set(Object.keys(rows[0]?.row ?? {}));
  const fields = docFields(config, features, locate);
  const sample = fewshotSampler(
    (splits.get(poolSplit) ?? []).map((r) => r.row),
    config.fewshot_config?.sampler === "first_n" ? "first_n" : "default",
    options.seed,
  );
  const fewshotTarget = config.fewshot_config?.target_delimiter ?? config.target_delimiter;
  const fewshotDelimiter = config.fewshot_config?.fewshot_delimiter ?? config.fewshot_delimiter;

  const items = rows.map(({ row, location }, index): SuiteItem => {
    const at = (key: string, run: () => unknown) => {
      try {
        return run();
      } catch (error) {
        const where = `${location} (${key}, ${locate([key])})`;
        throw new InputError("BAD_SUITE", `${key}: ${messageOf(error)}`, {
          location: where,
          cause: error,
        });
      }
    };
    const description = pyStr(at("description", () => fields.description(row)) ?? "");
    const shotsText = (
      at("num_fewshot", () => sample(shots, poolSplit === evalSplit ? row : undefined)) as Doc[]
    )
      .map((shot) => {
        const q = at("doc_to_text", () => fields.text(shot));
        const c = fields.choice ? at("doc_to_choice", () => fields.choice?.(shot)) : undefined;
        const a = at("doc_to_target", () => fields.target(shot));
        return `${textOf(q, "doc_to_text")}${answered(a) ? fewshotTarget + answerText(a, c) + fewshotDelimiter : ""}`;
      })
      .join("");
    const context =
      description +
      shotsText +
      textOf(
        at("doc_to_text", () => fields.text(row)),
        "doc_to_text",
        location,
      );
    return toItem(config, String(index), context, row, location, fields, at);
  });
  const hash = createHash("sha256").update(JSON.stringify(config));
  for (const item of items)
    hash.update(JSON.stringify([item.prompt, item.reference, item.text, item.choices]));
  return {
    id: config.task,
    file,
    description: describe(config),
    metrics: [metric],
    generation,
    items,
    perplexityFile: undefined,
    hash: hash.digest("hex"),
  };
}

interface Fields {
  text: (doc: Doc) => unknown;
  target: (doc: Doc) => unknown;
  choice: ((doc: Doc) => unknown) | undefined;
  description: (doc: Doc) => unknown;
}

function docFields(
  config: TaskConfig,
  features: Set<string>,
  locate: (p: PropertyKey[]) => string,
): Fields {
  const hasChoices = config.doc_to_choice !== undefined && config.doc_to_choice !== null;
  const compile = <T>(key: string, make: () => T): T => {
    try {
      return make();
    } catch (error) {
      if (!(error instanceof DocFieldError)) throw error;
      throw new InputError("BAD_SUITE", `${key}: ${error.message}`, { location: locate([key]) });
    }
  };
  return {
    text: compile("doc_to_text", () =>
      docToTextOrTarget(config.doc_to_text ?? "", features, hasChoices, false),
    ),
    target: compile("doc_to_target", () =>
      docToTextOrTarget(config.doc_to_target, features, hasChoices, true),
    ),
    choice: hasChoices
      ? compile("doc_to_choice", () => docToChoice(config.doc_to_choice, features))
      : undefined,
    description: compile("description", () => resolveField(config.description, features)),
  };
}

function toItem(
  config: TaskConfig,
  id: string,
  context: string,
  row: Doc,
  location: string,
  fields: Fields,
  at: (key: string, run: () => unknown) => unknown,
): SuiteItem {
  const target = at("doc_to_target", () => fields.target(row));
  const base = {
    id,
    prompt: context,
    location,
    text: undefined,
    reference: undefined as string | undefined,
  };
  if (Array.isArray(target) && config.output_type !== "loglikelihood_rolling") {
    throw new InputError(
      "BAD_SUITE",
      "doc_to_target gives a list (multiple targets), which qbench does not score",
      {
        location,
      },
    );
  }
  if (config.output_type === "multiple_choice") {
    const raw = at("doc_to_choice", () => fields.choice?.(row));
    if (!Array.isArray(raw) || raw.length < 2) {
      throw new InputError(
        "BAD_SUITE",
        `doc_to_choice gives ${pyStr(raw)}, not a list of at least 2 choices`,
        { location },
      );
    }
    const texts = raw.map((c) => pyStr(c));
    const gold = typeof target === "number" ? target : texts.indexOf(pyStr(target));
    if (!Number.isInteger(gold) || gold < 0 || gold >= texts.length) {
      throw new InputError(
        "BAD_SUITE",
        `doc_to_target gives ${pyStr(target)}, not one of the ${texts.length} choices`,
        {
          location,
        },
      );
    }
    return { ...base, reference: texts[gold], choices: { texts, gold } };
  }
  if (config.output_type === "loglikelihood_rolling")
    return { ...base, prompt: "", text: pyStr(target) };
  if (config.output_type === "loglikelihood") return { ...base, reference: pyStr(target) };
  const choices = fields.choice
    ? (at("doc_to_choice", () => fields.choice?.(row)) as unknown[])
    : undefined;
  const reference = choices && typeof target === "number" ? pyStr(choices[target]) : pyStr(target);
  return { ...base, reference };
}

function textOf(value: unknown, key: string, location?: string): string {
  if (typeof value === "string") return value;
  throw new InputError(
    "BAD_SUITE",
    typeof value === "number"
      ? `${key} gives an index (${value}): a multiple-input task (winogrande's form), which qbench reads as a suite with blank:, not as a task file`
      : `${key} gives ${pyStr(value)}, not text`,
    location === undefined ? {} : { location },
  );
}

/** build_qa_turn's `has_answer`: a target that is neither None nor "". */
function answered(a: unknown): boolean {
  return a !== undefined && a !== null && a !== "";
}

/** build_qa_turn's answer text: the choice an index names, a list's first target, or the text. */
function answerText(a: unknown, choices: unknown): string {
  if (Array.isArray(choices) && typeof a === "number") return pyStr(choices[a]);
  if (Array.isArray(a)) return pyStr(a[0]);
  return pyStr(a);
}

function dataFiles(
  value: string | string[] | Record<string, string | string[]> | undefined,
): Record<string, string[]> | undefined {
  if (value === undefined) return undefined;
  // datasets puts files given without a split in "train".
  if (typeof value === "string") return { train: [value] };
  if (Array.isArray(value)) return { train: value };
  return Object.fromEntries(
    Object.entries(value).map(([split, files]) => [
      split,
      typeof files === "string" ? [files] : files,
    ]),
  );
}

function describe(config: TaskConfig): string {
  const notes = [`lm-eval task ${config.task} (${config.output_type})`];
  if (config.num_fewshot) notes.push(`${config.num_fewshot}-shot`);
  if (config.should_decontaminate)
    notes.push("should_decontaminate is ignored: qbench does no decontamination");
  return notes.join("; ");
}
