import { InputError } from "../../errors.js";
import type { YamlSource } from "../../yaml/source.js";
import type { TaskConfig } from "./task-config.js";

/** Keys of a task file that qbench cannot honour, and why; each is refused by its line. */
const REFUSED: Array<[keyof TaskConfig, string]> = [
  ["group", "a group file: list its tasks' files as suites"],
  ["task_list", "a group file: list its tasks' files as suites"],
  ["custom_dataset", "a Python dataset builder"],
  ["process_docs", "Python run over the docs"],
  ["process_results", "Python scoring"],
  ["use_prompt", "a promptsource prompt"],
  ["doc_to_image", "images"],
  ["doc_to_audio", "audio"],
  ["gen_prefix", "a generation prefix (chat-template tasks)"],
];

const FEWSHOT_KEYS = new Set(["sampler", "split", "fewshot_delimiter", "target_delimiter"]);

/** Refuses what a task file asks and qbench does not do, naming the file, line and key. */
export function refuseUnsupported(config: TaskConfig, locate: YamlSource["locate"]): void {
  for (const [key, what] of REFUSED) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    throw new InputError("BAD_SUITE", `${key} (${what}) is not honoured by qbench`, {
      location: locate([key]),
    });
  }
  if (config.unsafe_code) {
    throw new InputError("BAD_SUITE", "unsafe_code tasks run model-written code; qbench does not", {
      location: locate(["unsafe_code"]),
    });
  }
  if (config.repeats !== 1) {
    throw new InputError(
      "BAD_SUITE",
      "repeats other than 1 are not honoured (qbench's plan sets repeats)",
      {
        location: locate(["repeats"]),
      },
    );
  }
  const fewshot: NonNullable<TaskConfig["fewshot_config"]> = config.fewshot_config ?? {
    sampler: "default",
  };
  for (const [key, value] of Object.entries(fewshot)) {
    if (value === undefined || value === null || FEWSHOT_KEYS.has(key)) continue;
    throw new InputError("BAD_SUITE", `fewshot_config.${key} is not honoured by qbench`, {
      location: locate(["fewshot_config", key]),
    });
  }
  if (!["default", "first_n"].includes(fewshot.sampler ?? "default")) {
    throw new InputError(
      "BAD_SUITE",
      `fewshot_config.sampler "${fewshot.sampler}": qbench has default and first_n`,
      {
        location: locate(["fewshot_config", "sampler"]),
      },
    );
  }
  if (config.output_type !== "generate_until" && config.filter_list) {
    throw new InputError(
      "BAD_SUITE",
      `filter_list applies to generate_until, not ${config.output_type}`,
      {
        location: locate(["filter_list"]),
      },
    );
  }
}
