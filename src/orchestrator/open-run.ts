import { dirname } from "node:path";
import { InputError } from "../errors.js";
import type { CheckedModel } from "../plan/check-models.js";
import type { ResolvedPlan, ResolvedVariant } from "../plan/load.js";
import type { Store, VariantRow } from "../store/store.js";
import type { SuiteItem } from "../suites/load.js";
import type { Progress } from "./progress.js";
import { collectProvenance } from "./provenance.js";
import type { StoppedRun } from "./stop-run.js";
import type { Work } from "./work.js";
import { currentWriter, isWriterAlive } from "./writer.js";

export interface OpenedRun extends StoppedRun {
  resumed: boolean;
}

/** The newest run of this plan and shard when resuming (claimed for this process), else a new one. */
export function openRun(
  store: Store,
  resolved: ResolvedPlan,
  work: Work,
  options: { resume: boolean; dbPath: string; progress: Progress },
): OpenedRun {
  const writer = currentWriter();
  const previous = options.resume ? store.latestRun(resolved.hash, work.shard) : undefined;
  if (options.resume && !previous) {
    options.progress.log(
      `nothing to resume for this plan in ${options.dbPath}: starting a new run`,
    );
  }
  if (!previous) {
    const { plan } = resolved;
    const runId = store.createRun({
      shard: work.shard,
      planName: plan.name,
      planFile: resolved.file,
      planHash: resolved.hash,
      planJson: JSON.stringify(plan),
      provenance: collectProvenance(dirname(resolved.file)),
      writer,
    });
    return { runId, storedBefore: 0, resumed: false };
  }
  const holder = store.claimRun(previous.id, writer, isWriterAlive);
  if (holder) {
    throw new InputError(
      "BAD_INPUT",
      `run ${previous.id} of this plan is still being written by process ${holder}: wait for it, or stop it and resume`,
      { location: options.dbPath },
    );
  }
  const storedBefore = store.countResults(previous.id);
  options.progress.log(`resuming run ${previous.id} (${previous.status})`);
  return { runId: previous.id, storedBefore, resumed: true };
}

/** Stores the run's suites and this shard's items (chunks are stored once tokenized). */
export function recordSuites(store: Store, runId: number, work: Work): void {
  for (const entry of work.suites) {
    const { suite } = entry;
    store.addSuite(runId, {
      id: suite.id,
      file: suite.file,
      description: suite.description,
      hash: suite.hash,
      metrics: suite.metrics,
    });
    if (entry.kind === "items") store.addItems(runId, suite.id, entry.items.map(storedItem));
  }
}

/** Finds or stores each variant's row, with what its model file says about it. */
export function recordVariants(
  store: Store,
  runId: number,
  resolved: ResolvedPlan,
  models: ReadonlyMap<string, CheckedModel>,
): Array<{ variant: ResolvedVariant; row: VariantRow }> {
  return resolved.variants.map((variant) => {
    const model = variant.served ? undefined : models.get(variant.modelPath);
    if (!model && !variant.served) throw new Error(`model ${variant.modelPath} was not checked`);
    const row = store.upsertVariant(runId, {
      name: variant.name,
      precision: variant.precision,
      isBaseline: variant.isBaseline,
      modelPath: variant.modelPath,
      modelSha256: model?.sha256 ?? `served:${variant.modelPath}`,
      modelBytes: model?.summary.fileSize ?? 0,
      architecture: model?.summary.architecture ?? null,
      parameterCount: model?.summary.parameterCount ?? null,
      bitsPerWeight: model?.summary.bitsPerWeight ?? null,
      tensorTypes: model?.summary.tensorTypes ?? {},
      backendRequested: variant.backend,
      runner: variant.runnerCommand.name,
      threads: variant.threads,
      contextSize: resolved.plan.contextSize,
    });
    return { variant, row };
  });
}

/** A multiple-choice item is stored with its choices under the context, the gold one marked. */
function storedItem(item: SuiteItem): SuiteItem {
  if (!item.choices) return item;
  const { texts, gold } = item.choices;
  const lines = texts.map((text, i) => `${i === gold ? "*" : " "} ${i}: ${text}`);
  return { ...item, prompt: `${item.prompt}\n\nchoices (* gold):\n${lines.join("\n")}` };
}
