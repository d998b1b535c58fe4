import { z } from "zod";
import { KV_CACHE_TYPES } from "../capacity/kv-cache.js";
import { Gates } from "../verdict/gates.js";

export const Backend = z.enum(["auto", "cuda", "vulkan", "metal", "cpu", "webgpu"]);
export type Backend = z.infer<typeof Backend>;

import { Generation } from "../suites/generation.js";

export { Generation };

/** A bundled runner by name, or any program that speaks the runner protocol. */
export const RunnerRef = z.union([
  z.string().min(1),
  z.strictObject({ command: z.array(z.string()).min(1) }),
]);
export type RunnerRef = z.infer<typeof RunnerRef>;

/** Types a plan can ask qbench to make from its `from:` model (see `qbench quantize`). */
export const QuantizeType = z.enum([
  "f16",
  "bf16",
  "q8_0",
  "q6_k",
  "q5_1",
  "q5_0",
  "q5_k_m",
  "q5_k_s",
  "q5_k",
  "q4_1",
  "q4_0",
  "q4_k_m",
  "q4_k_s",
  "q4_k",
  "iq4_xs",
  "iq4_nl",
  "q3_k_l",
  "q3_k_m",
  "q3_k_s",
  "q3_k",
  "q2_k",
  "q2_k_s",
]);
export type QuantizeType = z.infer<typeof QuantizeType>;

/** The precision label a quantized variant gets unless the plan names one. */
export const PRECISION_OF: Record<QuantizeType, string> = {
  f16: "fp16",
  bf16: "bf16",
  q8_0: "int8",
  q5_1: "int5",
  q5_0: "int5",
  q4_1: "int4",
  q4_0: "int4",
  q6_k: "int6",
  q5_k_m: "int5",
  q5_k_s: "int5",
  q5_k: "int5",
  q4_k_m: "int4",
  q4_k_s: "int4",
  q4_k: "int4",
  iq4_xs: "int4",
  iq4_nl: "int4",
  q3_k_l: "int3",
  q3_k_m: "int3",
  q3_k_s: "int3",
  q3_k: "int3",
  q2_k: "int2",
  q2_k_s: "int2",
};

/** KV cache element types, as llama.cpp's `--cache-type-k/-v` take them. */
export const KvCacheType = z.enum(KV_CACHE_TYPES);

export const KvCache = z.strictObject({
  k: KvCacheType.default("f16"),
  v: KvCacheType.default("f16"),
});
export type KvCache = z.infer<typeof KvCache>;

const VariantObject = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.+-]+$/, "use letters, digits and _ . + - only")
    .optional(),
  /** Path to a GGUF file, relative to the plan file. */
  model: z.string().min(1).optional(),
  /** Make this variant from the plan's `from:` model with qbench's quantizer (cached). */
  quantize: QuantizeType.optional(),
  /** A label such as fp16, int8, int4, q4_k_m. */
  precision: z.string().min(1).optional(),
  baseline: z.boolean().optional(),
  /** The KV cache's precision (llama-cpp runner); a quantized V cache needs flash attention. */
  kvCache: KvCache.optional(),
  backend: Backend.optional(),
  runner: RunnerRef.optional(),
  /** Settings of the http runner (baseUrl, chat, concurrency, timeoutSeconds, apiKeyEnv, …); see docs/http-runner.md. */
  http: z.record(z.string(), z.unknown()).optional(),
  /** A server qbench starts for this variant, waits for, and stops afterwards (e.g. vllm serve, llama-server). */
  server: z
    .strictObject({
      command: z.array(z.string()).min(1),
      /** Default: the http runner's baseUrl. */
      url: z.string().url().optional(),
      health: z.string().default("/health"),
      readyTimeoutSeconds: z.number().positive().default(300),
      stopGraceSeconds: z.number().positive().default(10),
      env: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

type VariantEntry = z.infer<typeof VariantObject>;

/** A resolved variant entry: it always has a name and a precision label. */
export interface Variant extends VariantEntry {
  name: string;
  precision: string;
}

/** A variant: a full entry, or just a quantize type (`q4_0`) when the plan has `from:`. */
export const Variant = z
  .union([QuantizeType.transform((quantize): VariantEntry => ({ quantize })), VariantObject])
  .superRefine((v, ctx) => {
    if (v.server && !v.server.url && typeof v.http?.baseUrl !== "string") {
      ctx.addIssue({
        code: "custom",
        path: ["server"],
        message: "a managed server needs url (or http.baseUrl)",
      });
    }
    const runner = typeof v.runner === "string" ? v.runner : v.runner ? "custom" : "llama-cpp";
    if (v.kvCache && (runner !== "llama-cpp" || v.backend === "webgpu")) {
      ctx.addIssue({
        code: "custom",
        path: ["kvCache"],
        message: `the KV cache's precision is set by the llama-cpp runner only; this variant runs on ${v.backend === "webgpu" ? "webgpu" : runner}`,
      });
    }
    if ((v.model === undefined) === (v.quantize === undefined)) {
      ctx.addIssue({ code: "custom", message: "a variant names exactly one of model or quantize" });
    }
  })
  .transform(
    (v): Variant => ({
      ...v,
      name: v.name ?? v.quantize ?? "",
      precision: v.precision ?? (v.quantize ? PRECISION_OF[v.quantize] : "unknown"),
    }),
  );

export const Threads = z.union([z.literal("auto"), z.number().int().min(0)]);

export const Plan = z
  .strictObject({
    name: z.string().min(1).default("qbench"),
    /** The variant the others are compared with; default: the one marked baseline, else the first. */
    baseline: z.string().optional(),
    /** The source model that `quantize:` variants are made from, relative to the plan file. */
    from: z.string().min(1).optional(),
    /** Where quantized variants are cached, keyed by the source's sha256 and the type. */
    cacheDir: z.string().min(1).default(".qbench/cache"),
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
    /**
     * Past this many failed items a variant is stopped: marked failed, its remaining items
     * skipped (the plan's top-level `maxFailedItems` is the old name, still read). Not the gate
     * `gates.maxFailedItems`, which decides whether a finished variant may ship.
     */
    stopAfterFailedItems: z.number().int().min(0).default(3),
    /** The baseline's top-K log-probs kept per scored token of perplexity suites, for KLD. */
    topK: z.number().int().min(0).default(512),
    /**
     * How KLD is computed (docs/verdict.md): `top-k`, against the baseline's stored top-K (a lower
     * bound, labelled so); `exact`, each variant's KLD runner evaluating the baseline in lockstep.
     */
    kldMethod: z.enum(["top-k", "exact"]).default("top-k"),
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
      if (variant.name === "") {
        ctx.addIssue({
          code: "custom",
          path: ["variants", i],
          message: "a variant with a model needs a name",
        });
      }
      if (variant.kvCache && plan.backend === "webgpu" && variant.backend === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["variants", i, "kvCache"],
          message:
            "the KV cache's precision is set by the llama-cpp runner only; this plan's backend is webgpu",
        });
      }
      if (variant.quantize !== undefined && plan.from === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["variants", i],
          message: "quantize needs the plan's from: model",
        });
      }
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
    plan.perf.forEach((shape, i) => {
      const needs = shape.depth + shape.prompt + shape.generate + 1;
      if (needs > plan.contextSize) {
        ctx.addIssue({
          code: "custom",
          path: ["perf", i],
          message: `depth ${shape.depth} + prompt ${shape.prompt} + generate ${shape.generate} + 1 = ${needs} tokens do not fit the contextSize ${plan.contextSize}`,
        });
      }
    });
  });
export type Plan = z.infer<typeof Plan>;
