import { z } from "zod";
import { messageOf } from "../errors.js";
import { Generation } from "./generation.js";

/** A pattern for `new RegExp`, checked when the suite loads so a bad one never starts a run. */
const RegexSource = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: messageOf(error) });
  }
});

export const ExactMatchOptions = z.strictObject({
  ignore_case: z.boolean().default(false),
  ignore_punctuation: z.boolean().default(false),
  /** Strip surrounding whitespace before comparing. */
  strip: z.boolean().default(false),
  /** SQuAD-style: lowercase, drop punctuation and articles, squeeze whitespace. */
  normalize: z.enum(["none", "squad"]).default("none"),
  /** Extract the answer from the output: the first capture group (or the whole match). */
  regex: RegexSource.optional(),
  /** lm-eval's `regex` filter on the output (its findall, group_select, fallback), before the rest. */
  filter: z
    .strictObject({
      pattern: RegexSource,
      flags: z
        .string()
        .regex(/^[imsu]*$/)
        .default(""),
      group_select: z.number().int().default(0),
      fallback: z.string().default("[invalid]"),
    })
    .optional(),
  /** lm-eval's exact_match `regexes_to_ignore`: removed from both sides before case and punctuation. */
  regexes_to_ignore: z
    .array(
      z.strictObject({
        pattern: RegexSource,
        flags: z
          .string()
          .regex(/^[imsu]*$/)
          .default(""),
      }),
    )
    .default([]),
});
export type ExactMatchOptions = z.infer<typeof ExactMatchOptions>;

export const RougeType = z.enum(["rouge1", "rouge2", "rougeL", "rougeLsum"]);

export const RougeOptions = z.strictObject({
  types: z.array(RougeType).min(1).default(["rouge1", "rouge2", "rougeL", "rougeLsum"]),
  stem: z.boolean().default(true),
});
export type RougeOptions = z.infer<typeof RougeOptions>;

export const PerplexityOptions = z
  .strictObject({
    /** Score each item's text in this field. */
    field: z.string().min(1).optional(),
    /** Score one text file, relative to the suite file, llama-perplexity style. */
    file: z.string().min(1).optional(),
    /** Chunk length in tokens; default: the plan's context size. */
    ctx: z.number().int().min(8).optional(),
  })
  .refine((o) => (o.field === undefined) !== (o.file === undefined), {
    message: "perplexity needs exactly one of field or file",
  })
  .refine((o) => o.ctx === undefined || o.file !== undefined, {
    message: "ctx applies to a perplexity file only (a field's texts are scored whole)",
    path: ["ctx"],
  });
export type PerplexityOptions = z.infer<typeof PerplexityOptions>;

export const MultipleChoiceOptions = z
  .strictObject({
    /** A field holding the list of choices, or a list of templates (one per choice). */
    choices: z.union([z.string().min(1), z.array(z.string()).min(2)]),
    /** The field holding the gold choice: its index (from 0) or its text. */
    gold: z.string().min(1),
    /** Put between the context and each choice (lm-eval's target_delimiter). */
    target_delimiter: z.string().default(" "),
    /** lm-eval's split and acc / acc_norm / acc_bytes, or llama-perplexity's tokenization and mean. */
    scoring: z.enum(["lm-eval", "llama.cpp"]).default("lm-eval"),
    /**
     * WinoGrande's form: the context holds this blank, each choice fills it, and what follows the
     * blank is scored (lm-eval's winogrande task, llama-perplexity's --winogrande).
     */
    blank: z.string().min(1).optional(),
    /**
     * Also score acc_mutual_info (lm-eval scoring only): each choice's log-likelihood less its
     * unconditional one, after BOS alone. Doubles the continuations scored per item.
     */
    mutual_info: z.boolean().default(false),
  })
  .refine((o) => !o.mutual_info || o.scoring === "lm-eval", {
    message: "mutual_info is lm-eval's acc_mutual_info: it needs scoring: lm-eval",
    path: ["mutual_info"],
  });
export type MultipleChoiceOptions = z.infer<typeof MultipleChoiceOptions>;

/** lm-eval's loglikelihood (LAMBADA): the target's log-likelihood after the context, greedy or not. */
export const LoglikelihoodOptions = z.strictObject({
  /** The field holding the continuation, as scored (a leading space included where wanted). */
  target: z.string().min(1),
});
export type LoglikelihoodOptions = z.infer<typeof LoglikelihoodOptions>;

/** lm-eval's loglikelihood_rolling (wikitext): a whole document in rolling windows. */
export const RollingOptions = z.strictObject({
  /** The field holding the document. */
  field: z.string().min(1),
});
export type RollingOptions = z.infer<typeof RollingOptions>;

export type Metric =
  | { exact_match: ExactMatchOptions }
  | { loglikelihood: LoglikelihoodOptions }
  | { loglikelihood_rolling: RollingOptions }
  | { rouge: RougeOptions }
  | { perplexity: PerplexityOptions }
  | { multiple_choice: MultipleChoiceOptions };

/** One metric per list entry, keyed by family; an object (not a union) so errors point inside it. */
export const Metric = z
  .strictObject({
    exact_match: ExactMatchOptions.nullish(),
    rouge: RougeOptions.nullish(),
    perplexity: PerplexityOptions.optional(),
    multiple_choice: MultipleChoiceOptions.optional(),
    loglikelihood: LoglikelihoodOptions.optional(),
    loglikelihood_rolling: RollingOptions.optional(),
  })
  .refine((m) => Object.keys(m).length === 1, {
    message:
      "each metric entry names exactly one of exact_match, rouge, perplexity, multiple_choice, loglikelihood, loglikelihood_rolling",
  })
  .transform((m): Metric => {
    if ("exact_match" in m) return { exact_match: m.exact_match ?? ExactMatchOptions.parse({}) };
    if ("rouge" in m) return { rouge: m.rouge ?? RougeOptions.parse({}) };
    if ("multiple_choice" in m) {
      return { multiple_choice: m.multiple_choice as MultipleChoiceOptions };
    }
    if ("loglikelihood" in m) return { loglikelihood: m.loglikelihood as LoglikelihoodOptions };
    if ("loglikelihood_rolling" in m) {
      return { loglikelihood_rolling: m.loglikelihood_rolling as RollingOptions };
    }
    return { perplexity: m.perplexity as PerplexityOptions };
  });

export const Item = z.record(z.string(), z.unknown());
export type Item = z.infer<typeof Item>;

export const SuiteHeader = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits and _ . - only"),
    description: z.string().default(""),
    /** A handlebars template file, relative to the suite file. */
    prompt: z.string().optional(),
    /** An inline handlebars template. */
    template: z.string().optional(),
    /** Fields every item must have. */
    fields: z.array(z.string()).default([]),
    /** The field holding the reference answer. */
    target: z.string().optional(),
    metrics: z.array(Metric).min(1),
    fewshot: z.array(Item).default([]),
    fewshot_separator: z.string().default("\n\n"),
    generation: Generation.partial().optional(),
    /** Items in a JSONL file, relative to the suite file. */
    data: z.string().optional(),
    items: z.array(Item).optional(),
  })
  .refine((s) => !(s.data !== undefined && s.items !== undefined), {
    message: "give items inline or in data, not both",
  });
export type SuiteHeader = z.infer<typeof SuiteHeader>;
