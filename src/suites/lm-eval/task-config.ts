import { z } from "zod";

/** A `!function module.name` value: Python code qbench cannot run. */
export class FunctionRef {
  constructor(readonly name: string) {}
}

const Template = z.union([z.string(), z.number().int()]);

/** lm-eval's per-metric entry: the name, its aggregation, and the metric function's keywords. */
const MetricEntry = z
  .object({
    metric: z.string().min(1),
    aggregation: z.string().optional(),
    higher_is_better: z.boolean().optional(),
  })
  .catchall(z.unknown());

const FilterStep = z.object({ function: z.string().min(1) }).catchall(z.unknown());

/**
 * The keys of lm-eval's TaskConfig (lm_eval/config/task.py) that a task file may set. Every key is
 * listed, so an unknown one is named with its line; those qbench cannot honour are refused by
 * `refuseUnsupported`, not here, so the message can say why.
 */
export const TaskConfig = z.strictObject({
  task: z.string().regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits and _ . - only"),
  task_alias: z.string().optional(),
  tag: z.union([z.string(), z.array(z.string())]).optional(),
  group: z.unknown().optional(),
  task_list: z.unknown().optional(),
  custom_dataset: z.unknown().optional(),
  dataset_path: z.string().min(1),
  dataset_name: z.string().nullish(),
  dataset_kwargs: z
    .object({
      data_files: z
        .union([
          z.string(),
          z.array(z.string()),
          z.record(z.string(), z.union([z.string(), z.array(z.string())])),
        ])
        .optional(),
      revision: z.string().optional(),
      trust_remote_code: z.boolean().optional(),
    })
    .catchall(z.unknown())
    .nullish(),
  training_split: z.string().nullish(),
  validation_split: z.string().nullish(),
  test_split: z.string().nullish(),
  fewshot_split: z.string().nullish(),
  fewshot_config: z
    .object({
      sampler: z.string().default("default"),
      samples: z.unknown().optional(),
      split: z.string().nullish(),
      process_docs: z.unknown().optional(),
      fewshot_indices: z.unknown().optional(),
      doc_to_text: Template.optional(),
      doc_to_target: z.unknown().optional(),
      doc_to_choice: z.unknown().optional(),
      gen_prefix: z.unknown().optional(),
      fewshot_delimiter: z.string().optional(),
      target_delimiter: z.string().optional(),
    })
    .nullish(),
  process_docs: z.unknown().optional(),
  doc_to_text: Template.optional(),
  doc_to_target: z.union([Template, z.array(z.union([z.string(), z.number()]))]).optional(),
  doc_to_choice: z
    .union([
      z.string(),
      z.array(z.union([z.string(), z.number()])),
      z.record(z.string(), z.unknown()),
    ])
    .nullish(),
  doc_to_image: z.unknown().optional(),
  doc_to_audio: z.unknown().optional(),
  unsafe_code: z.boolean().optional(),
  process_results: z.unknown().optional(),
  use_prompt: z.unknown().optional(),
  description: z.string().default(""),
  target_delimiter: z.string().default(" "),
  fewshot_delimiter: z.string().default("\n\n"),
  num_fewshot: z.number().int().min(0).nullish(),
  metric_list: z.array(MetricEntry).nullish(),
  output_type: z
    .enum(["loglikelihood", "loglikelihood_rolling", "multiple_choice", "generate_until"])
    .default("generate_until"),
  generation_kwargs: z
    .object({
      until: z.union([z.string(), z.array(z.string())]).optional(),
      max_gen_toks: z.number().int().positive().optional(),
      do_sample: z.boolean().optional(),
      temperature: z.number().min(0).optional(),
    })
    .catchall(z.unknown())
    .nullish(),
  repeats: z.number().int().positive().default(1),
  filter_list: z
    .array(z.object({ name: z.string(), filter: z.array(FilterStep).min(1) }))
    .nullish(),
  should_decontaminate: z.boolean().optional(),
  doc_to_decontamination_query: z.unknown().optional(),
  gen_prefix: z.unknown().optional(),
  metadata: z.unknown().optional(),
});
export type TaskConfig = z.infer<typeof TaskConfig>;
