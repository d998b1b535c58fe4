import { z } from "zod";
import { Gates } from "../verdict/gates.js";

export const Backend = z.enum(["auto", "cuda", "vulkan", "metal", "cpu", "webgpu"]);
export type Backend = z.infer<typeof Backend>;

export const Generation = z.strictObject({
  maxTokens: z.number().int().positive().default(64),
  stop: z.array(z.string()).default([]),
  /** 0 = greedy. */
  temperature: z.number().min(0).default(0),
});
export type Generation = z.infer<typeof Generation>;

/** A bundled runner by name, or any program that speaks the runner protocol. */
export const RunnerRef = z.union([
  z.string().min(1),
  z.strictObject({ command: z.array(z.string()).min(1) }),
]);
export type RunnerRef = z.infer<typeof RunnerRef>;

export const Variant = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.+-]+$/, "use letters, digits and _ . + - only"),
  /** Path to a GGUF file, relative to the plan file. */
  model: z.string().min(1),
  /** A label such as fp16, int8, int4, q4_k_m. */
  precision: z.string().min(1).default("unknown"),
  baseline: z.boolean().optional(),
  backend: Backend.optional(),
  runner: RunnerRef.optional(),
});
export type Variant = z.infer<typeof Variant>;

export const Threads = z.union([z.literal("auto"), z.number().int().min(0)]);

export const Plan = z
  .strictObject({
    name: z.string().min(1).default("qbench"),
    /** The variant the others are compared with; default: the one marked baseline, else the first. */
    baseline: z.string().optional(),
    variants: z.array(Variant).min(1),
    /** Suite files, relative to the plan file. */
    suites: z.array(z.string().min(1)).min(1),
    backend: Backend.default("auto"),
    contextSize: z.number().int().min(16).default(512),
    threads: Threads.default("auto"),
    seed: z.number().int().min(0).default(42),
    generation: Generation.default({ maxTokens: 64, stop: [], temperature: 0 }),
    /** Generations run before measuring, per variant; not stored as results. */
    warmup: z.number().int().min(0).default(1),
    repeats: z.number().int().min(1).default(1),
    /** Variants run at once; raise only for runners that can share the machine. */
    concurrency: z.number().int().min(1).default(1),
    timeouts: z
      .strictObject({
        loadSeconds: z.number().positive().default(300),
        itemSeconds: z.number().positive().default(120),
      })
      .default({ loadSeconds: 300, itemSeconds: 120 }),
    /** Past this many failed items a variant is marked failed and its remaining items skipped. */
    maxFailedItems: z.number().int().min(0).default(3),
    /** The baseline's top-K log-probs kept per scored token of perplexity suites, for KLD. */
    topK: z.number().int().min(0).default(512),
    /** llama-bench-style fixed shapes run per variant after the suites (compare with llama-bench -p/-n/-d). */
    perf: z
      .array(
        z.strictObject({
          prompt: z.number().int().min(0).default(512),
          generate: z.number().int().min(0).default(128),
          depth: z.number().int().min(0).default(0),
        }),
      )
      .default([]),
    /** Measured repeats of each perf shape, after one warm-up. */
    perfRepeats: z.number().int().min(1).default(5),
    /** Verdict gates; stored with the run and applied by the verdict policy. */
    gates: Gates.default(Gates.parse({})),
  })
  .superRefine((plan, ctx) => {
    const names = new Set<string>();
    plan.variants.forEach((variant, i) => {
      if (names.has(variant.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["variants", i, "name"],
          message: `duplicate variant name "${variant.name}"`,
        });
      }
      names.add(variant.name);
    });
    if (plan.baseline !== undefined && !names.has(plan.baseline)) {
      ctx.addIssue({
        code: "custom",
        path: ["baseline"],
        message: `baseline "${plan.baseline}" is not a variant (${[...names].join(", ")})`,
      });
    }
    const marked = plan.variants.filter((v) => v.baseline);
    if (marked.length > 1) {
      ctx.addIssue({
        code: "custom",
        path: ["variants"],
        message: "more than one variant is marked baseline",
      });
    }
  });
export type Plan = z.infer<typeof Plan>;
