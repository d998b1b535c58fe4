import { z } from "zod";

const Inconclusive = z.enum(["ship", "no-ship"]);

/** The plan's `gates:` section: the verdict policy of DESIGN.md, every threshold configurable. */
export const Gates = z.strictObject({
  /** Confidence of the paired intervals every gate is judged on. */
  confidence: z.number().gt(0.5).lt(1).default(0.95),
  resamples: z.number().int().min(200).max(100_000).default(2000),
  seed: z.number().int().min(0).default(1),
  /** What an interval that straddles a threshold means for the verdict. */
  inconclusive: Inconclusive.default("no-ship"),
  /** Each quality metric (exact_match, rouge*_f1) ≥ minRatio of the baseline's. */
  quality: z
    .strictObject({ minRatio: z.number().gt(0).max(2).default(0.99) })
    .default({ minRatio: 0.99 }),
  /** Per metric (and optionally per suite) overrides, e.g. a looser ROUGE ratio or a metric not gated. */
  metrics: z
    .array(
      z.strictObject({
        metric: z.string().min(1),
        suite: z.string().optional(),
        minRatio: z.number().gt(0).max(2).optional(),
        inconclusive: Inconclusive.optional(),
        ignore: z.boolean().optional(),
      }),
    )
    .default([]),
  /**
   * The share of items whose correctness (exact_match, acc, acc_norm, acc_bytes) changed against
   * the baseline, both directions; off unless set. Always reported beside the quality figure.
   */
  flips: z.strictObject({ maxRate: z.number().min(0).max(1) }).optional(),
  perplexity: z
    .strictObject({ maxRatio: z.number().gt(1).default(1.05) })
    .default({ maxRatio: 1.05 }),
  kld: z
    .strictObject({
      maxMean: z.number().positive().default(0.05),
      maxP99: z.number().positive().optional(),
    })
    .default({ maxMean: 0.05 }),
  /** Mean completion length within ±tolerance of the baseline's; false to turn the guard off. */
  length: z
    .union([z.literal(false), z.strictObject({ tolerance: z.number().gt(0).lt(1).default(0.1) })])
    .default({ tolerance: 0.1 }),
  budgets: z
    .strictObject({
      ttftP90Ms: z.number().positive().optional(),
      minDecodeTps: z.number().positive().optional(),
      maxPeakRssBytes: z.number().positive().optional(),
      maxModelBytes: z.number().positive().optional(),
      /** Energy per generated token over the measured generations (joules). */
      maxJoulesPerToken: z.number().positive().optional(),
      /** The device memory capacity is judged against (bytes), e.g. 80e9 for an 80 GB GPU. */
      deviceBytes: z.number().positive().optional(),
      /** Sequences of the plan's context that must fit in deviceBytes beside weights and compute. */
      minConcurrentAtContext: z.number().int().positive().optional(),
      /** A variant slower than the baseline (decode TPS or TTFT p90): a warning, or a failure. */
      slowerThanBaseline: z.enum(["warn", "fail"]).default("warn"),
    })
    .default({ slowerThanBaseline: "warn" }),
  /** Failed items a variant may have and still ship. */
  maxFailedItems: z.number().int().min(0).default(0),
  /** People's reviews of the outputs that disagree with the baseline (`qbench view`); off when absent. */
  review: z
    .strictObject({
      /** Share of a variant's reviewed disagreeing outputs that must be acceptable. */
      minAcceptable: z.number().min(0).max(1).optional(),
      /** Every output where the variant scores below the baseline must have a review. */
      requireAllRegressions: z.boolean().default(false),
    })
    .optional(),
});
export type Gates = z.infer<typeof Gates>;
