import { join } from "node:path";
import { writeFiles } from "./cli.js";
import { model, SUPPORT } from "./paths.js";

/** A small generation suite over the story model, with `n` items. */
export function writeClozeSuite(dir: string, n: number, id = "cloze"): string {
  const starts = [
    "Once upon a time",
    "One day, Lily",
    "Tom and his mom",
    "The little dog",
    "Ben saw a",
  ];
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `q${i + 1}`,
      context: `${starts[i % starts.length]} ${"and then ".repeat(i % 4)}`.trim(),
      answer: "there",
    }),
  );
  writeFiles(dir, {
    [`${id}.jsonl`]: `${lines.join("\n")}\n`,
    [`${id}.yaml`]: [
      `id: ${id}`,
      'template: "{{context}}"',
      "fields: [context, answer]",
      "target: answer",
      "generation: { maxTokens: 6 }",
      "metrics:",
      '  - exact_match: { regex: "^\\\\W*(\\\\w+)", ignore_case: true }',
      "  - rouge: { types: [rouge1, rougeL] }",
      `data: ${id}.jsonl`,
    ].join("\n"),
  });
  return join(dir, `${id}.yaml`);
}

export interface VariantSpec {
  name: string;
  file?: string;
  runner?: string[];
  extra?: string;
}

/** A plan over the shared stories260K files; variants may use test runners. */
export function writePlan(
  dir: string,
  variants: VariantSpec[],
  suites: string[],
  extra = "",
): string {
  const body = [
    "name: test-plan",
    "variants:",
    ...variants.flatMap((v) => [
      `  - name: ${v.name}`,
      `    model: ${v.file?.startsWith("/") ? v.file : model(v.file ?? "stories260K-f16.gguf")}`,
      `    precision: ${v.name}`,
      ...(v.runner ? [`    runner: { command: ${JSON.stringify(v.runner)} }`] : []),
      ...(v.extra ? [v.extra] : []),
    ]),
    "suites:",
    ...suites.map((s) => `  - ${s}`),
    "backend: cpu",
    "contextSize: 256",
    "threads: 1",
    "warmup: 0",
    extra,
  ].join("\n");
  writeFiles(dir, { "plan.yaml": body });
  return join(dir, "plan.yaml");
}

/** Two variants ("base", "other") on the slow fake runner (40 ms an item) over a cloze suite. */
export function writeSlowPlan(dir: string, items: number, extra = ""): string {
  const runner = [process.execPath, join(SUPPORT, "fake-runners.js"), "slow"];
  return writePlan(
    dir,
    [
      { name: "base", runner },
      { name: "other", runner },
    ],
    [writeClozeSuite(dir, items)],
    extra,
  );
}
