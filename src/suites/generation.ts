import { z } from "zod";

/** How a suite's items are generated; the plan gives the defaults. */
export const Generation = z.strictObject({
  maxTokens: z.number().int().positive().default(64),
  stop: z.array(z.string()).default([]),
  /** 0 = greedy. */
  temperature: z.number().min(0).default(0),
});
export type Generation = z.infer<typeof Generation>;
