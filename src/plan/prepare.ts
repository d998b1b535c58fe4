import { statSync } from "node:fs";
import { type CheckedModel, checkKvCache, checkModel } from "./check-models.js";
import {
  type LoadedPlan,
  type LoadedVariant,
  loadPlan,
  type PlanOverrides,
  type ResolvedPlan,
  type ResolvedVariant,
  threadsFor,
} from "./load.js";
import { quantizedModel } from "./quantize-cache.js";

export interface PreparedPlan {
  resolved: ResolvedPlan;
  /** Every model file the plan loads, read and hashed once, by path. */
  models: Map<string, CheckedModel>;
}

/** Loads and checks everything a run needs; throws InputError (exit 2) before anything runs. */
export async function preparePlan(
  planFile: string,
  overrides: PlanOverrides,
  log: (line: string) => void = () => {},
): Promise<PreparedPlan> {
  const loaded = loadPlan(planFile, overrides);
  // Named once it is known to be a plan, so a refused one prints only its error.
  log(`plan ${planFile}`);
  // Each file is read and hashed once, though it may be a source and a variant both.
  const models = new Map<string, CheckedModel>();
  const check = async (path: string): Promise<CheckedModel> => {
    const known = models.get(path) ?? (await checkModel(path));
    models.set(path, known);
    return known;
  };
  const variants: ResolvedVariant[] = [];
  for (const variant of loaded.variants) {
    variants.push(await resolveVariant(variant, loaded, log, check));
  }
  for (const variant of variants) {
    if (variant.served) continue;
    const model = await check(variant.modelPath);
    checkKvCache(model, variant.kvCache, variant.kvCacheAt ?? loaded.file);
  }
  return { resolved: { ...loaded, variants }, models };
}

/** A `quantize:` variant gets the file qbench made (or found in the cache); others are ready. */
async function resolveVariant(
  variant: LoadedVariant,
  loaded: LoadedPlan,
  log: (line: string) => void,
  check: (path: string) => Promise<CheckedModel>,
): Promise<ResolvedVariant> {
  if (!variant.quantizeFrom) return variant;
  const { quantizeFrom, ...rest } = variant;
  const { source, type } = quantizeFrom;
  const modelPath = await quantizedModel(source, type, loaded.cacheDir, log, check);
  return { ...rest, modelPath, threads: threadsFor(loaded.plan, statSync(modelPath).size) };
}
