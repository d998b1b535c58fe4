import { InputError, messageOf } from "../../errors.js";
import type { YamlSource } from "../../yaml/source.js";
import type { Generation } from "../generation.js";
import { ExactMatchOptions, type Metric } from "../schema.js";
import { pythonRegex } from "./python-regex.js";
import type { TaskConfig } from "./task-config.js";

/** lm-eval's DEFAULT_METRIC_REGISTRY: the metrics of a task without a metric_list. */
const DEFAULTS: Record<TaskConfig["output_type"], string[]> = {
  multiple_choice: ["acc", "acc_norm"],
  loglikelihood: ["perplexity", "acc"],
  loglikelihood_rolling: ["word_perplexity", "byte_perplexity", "bits_per_byte"],
  generate_until: ["exact_match"],
};

/**
 * What qbench scores per output type (a multiple-choice item always gives acc, acc_norm and
 * acc_bytes; acc_mutual_info where the metric_list names it).
 */
const SCORED: Record<TaskConfig["output_type"], string[]> = {
  multiple_choice: ["acc", "acc_norm", "acc_bytes", "acc_mutual_info"],
  loglikelihood: ["perplexity", "acc"],
  loglikelihood_rolling: ["word_perplexity", "byte_perplexity", "bits_per_byte"],
  generate_until: ["exact_match"],
};

/** lm-eval's aggregations for those metrics; another one is refused. */
const AGGREGATIONS = new Set(["mean", "perplexity", "weighted_perplexity", "bits_per_byte"]);

type Locate = YamlSource["locate"];

/** The qbench metric a task's output_type, metric_list and filter_list come to; refuses what it cannot score. */
export function taskMetric(
  config: TaskConfig,
  locate: Locate,
  blank: { choices: string; gold: string },
): Metric {
  const names = (config.metric_list ?? []).map((entry, i) => {
    const at = locate(["metric_list", i, "metric"]);
    if (!SCORED[config.output_type].includes(entry.metric)) {
      throw new InputError(
        "BAD_SUITE",
        `metric "${entry.metric}" is not one qbench scores for ${config.output_type} (it scores ${SCORED[config.output_type].join(", ")})`,
        { location: at },
      );
    }
    if (entry.aggregation !== undefined && !AGGREGATIONS.has(entry.aggregation)) {
      throw new InputError(
        "BAD_SUITE",
        `aggregation "${entry.aggregation}" is not lm-eval's default for ${entry.metric}`,
        {
          location: locate(["metric_list", i, "aggregation"]),
        },
      );
    }
    return entry.metric;
  });
  if (names.length === 0) names.push(...DEFAULTS[config.output_type]);
  if (config.output_type === "multiple_choice") {
    return {
      multiple_choice: {
        choices: blank.choices,
        gold: blank.gold,
        target_delimiter: config.target_delimiter,
        scoring: "lm-eval",
        mutual_info: names.includes("acc_mutual_info"),
      },
    };
  }
  if (config.output_type === "loglikelihood") return { loglikelihood: { target: blank.gold } };
  if (config.output_type === "loglikelihood_rolling")
    return { loglikelihood_rolling: { field: blank.gold } };
  return { exact_match: exactMatchOptions(config, locate) };
}

/** lm-eval's exact_match keywords and its one filter pipeline (regex, take_first). */
function exactMatchOptions(config: TaskConfig, locate: Locate): ExactMatchOptions {
  const index = (config.metric_list ?? []).findIndex((m) => m.metric === "exact_match");
  const entry = config.metric_list?.[index];
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry ?? {})) {
    if (["metric", "aggregation", "higher_is_better"].includes(key)) continue;
    const at = locate(["metric_list", index, key]);
    if (key === "ignore_case" || key === "ignore_punctuation") options[key] = value;
    else if (key === "regexes_to_ignore" && Array.isArray(value)) {
      options.regexes_to_ignore = value.map((p, i) =>
        regex(String(p), locate(["metric_list", index, key, i])),
      );
    } else {
      throw new InputError("BAD_SUITE", `exact_match's "${key}" is not honoured by qbench`, {
        location: at,
      });
    }
  }
  const filters = config.filter_list ?? [];
  if (filters.length > 1) {
    throw new InputError(
      "BAD_SUITE",
      `qbench scores one filter pipeline; this task has ${filters.length} (${filters.map((f) => f.name).join(", ")}): keep one`,
      { location: locate(["filter_list"]) },
    );
  }
  filters[0]?.filter.forEach((step, i) => {
    const at = locate(["filter_list", 0, "filter", i, "function"]);
    if (step.function === "take_first") return;
    if (step.function !== "regex") {
      throw new InputError(
        "BAD_SUITE",
        `filter "${step.function}" is not one qbench runs (regex, take_first)`,
        {
          location: at,
        },
      );
    }
    const unknown = Object.keys(step).filter(
      (k) => !["function", "regex_pattern", "group_select", "fallback"].includes(k),
    );
    if (unknown.length > 0) {
      throw new InputError("BAD_SUITE", `regex filter: unknown key "${unknown[0]}"`, {
        location: at,
      });
    }
    const pattern =
      typeof step.regex_pattern === "string" ? step.regex_pattern : "#### (\\-?[0-9\\.\\,]+)";
    options.filter = {
      ...regex(pattern, locate(["filter_list", 0, "filter", i, "regex_pattern"])),
      group_select: typeof step.group_select === "number" ? step.group_select : 0,
      fallback: typeof step.fallback === "string" ? step.fallback : "[invalid]",
    };
  });
  return ExactMatchOptions.parse(options);
}

function regex(pattern: string, at: string): { pattern: string; flags: string } {
  try {
    return pythonRegex(pattern);
  } catch (error) {
    throw new InputError("BAD_SUITE", `regex ${JSON.stringify(pattern)}: ${messageOf(error)}`, {
      location: at,
    });
  }
}

/** generation_kwargs as qbench's generation: until → stop, max_gen_toks → maxTokens, greedy unless do_sample. */
export function taskGeneration(
  config: TaskConfig,
  locate: Locate,
): Partial<Generation> | undefined {
  if (config.output_type !== "generate_until") return undefined;
  const kwargs = config.generation_kwargs ?? {};
  for (const key of Object.keys(kwargs)) {
    if (!["until", "max_gen_toks", "do_sample", "temperature"].includes(key)) {
      throw new InputError("BAD_SUITE", `generation_kwargs.${key} is not honoured by qbench`, {
        location: locate(["generation_kwargs", key]),
      });
    }
  }
  const until = kwargs.until ?? [config.fewshot_delimiter];
  return {
    stop: typeof until === "string" ? [until] : until,
    maxTokens: kwargs.max_gen_toks ?? 256,
    temperature: kwargs.do_sample ? (kwargs.temperature ?? 1) : 0,
  };
}
