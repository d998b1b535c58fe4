import { RunnerFailure } from "../errors.js";
import type { RunnerClient } from "../runner-client/client.js";
import type { StartedRunner } from "../runner-client/start.js";
import { resultKey } from "../store/store.js";
import { type ItemContext, runItem } from "./run-item.js";
import { RunnerSession } from "./runner-session.js";
import { runnerSpec } from "./runner-spec.js";
import { tokenizeChunks } from "./score-chunks.js";
import { checkStopped, type VariantContext } from "./session-context.js";
import { TokenizeAhead } from "./tokenize-ahead.js";
import { chunkWork, type SuiteWork, type WorkItem } from "./work.js";

/** Failed items named one by one on the console before the rest are only counted. */
const LOGGED_FAILURES = 10;

/** Past the plan's limit of failed items the variant is failed; the run goes on with the others. */
export class VariantFailed extends Error {}

/** One variant's pass over the suites, on one runner session. */
export interface SuitePass {
  context: VariantContext;
  runners: RunnerSession;
  /** Keys (resultKey) of the items this variant has stored as ok: a resume skips them. */
  finished: ReadonlySet<string>;
  failures: { count: number };
  /**
   * Exact KLD (`plan.kldMethod: exact`): a second runner of this variant with the baseline loaded
   * beside it, started on first use and never memory-sampled, so the variant's own figures stay its own.
   */
  kldRunners?: RunnerSession;
}

/** Runs the suite's items not yet stored; a runner's failure costs the item in flight. */
export async function runSuite(pass: SuitePass, suite: SuiteWork): Promise<void> {
  const { context } = pass;
  const started = await pass.runners.runner();
  const items =
    suite.kind === "items"
      ? suite.work
      : await textChunks(context, started, suite).catch((error: unknown) => {
          throw inSuite(error, suite.suite.id);
        });
  if (suite.kind === "chunks") {
    const stored = items.map((item) => ({ id: item.itemId, prompt: "", reference: undefined }));
    context.store.addItems(context.runId, suite.suite.id, stored);
  }
  const todo = items.filter((t) => !pass.finished.has(resultKey(t.suite.id, t.itemId, t.repeat)));
  if (todo.length === 0) return;
  context.progress.start(context.variant.name, suite.suite.id, todo.length);
  const choices = todo.map((t) => (t.kind === "choice" ? t.choice : undefined));
  if (choices.some(Boolean)) await runChoices(pass, todo, new TokenizeAhead(choices));
  else {
    for (const item of todo) {
      checkStopped(context);
      if ((await runOne(pass, item)) === "unsupported") break;
    }
  }
  context.progress.done();
}

/** Multiple-choice items in flight at once: the runner scores one while the next one's request waits. */
export const CHOICE_DEPTH = 2;

/**
 * Multiple-choice items, their texts tokenized ahead and CHOICE_DEPTH of them in flight, so the
 * engine is never idle between items. An item whose runner crashed or hung while another was in
 * flight is scored again alone afterwards: a crash fails only the item that caused it.
 */
async function runChoices(pass: SuitePass, todo: WorkItem[], ahead: TokenizeAhead): Promise<void> {
  const { context } = pass;
  const timeoutMs = context.plan.timeouts.itemSeconds * 1000;
  // The first item alone: it starts the runner, and a runner that cannot score choices says so once.
  checkStopped(context);
  const first = await runOne(
    pass,
    todo[0] as WorkItem,
    await ahead.known(0, pass.runners, timeoutMs),
  );
  if (first === "unsupported") return;
  let next = 1;
  let stop = false;
  const again: number[] = [];
  const lane = async () => {
    try {
      while (!stop && next < todo.length) {
        checkStopped(context);
        const at = next++;
        const tokens = await ahead.known(at, pass.runners, timeoutMs);
        const outcome = await runOne(pass, todo[at] as WorkItem, tokens, true);
        if (outcome === "unsupported") stop = true;
        if (outcome === "again") again.push(at);
      }
    } catch (error) {
      stop = true;
      throw error;
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: CHOICE_DEPTH }, lane));
  const failed = lanes.find((lane) => lane.status === "rejected");
  if (failed) throw failed.reason;
  if (stop) return;
  for (const at of again.sort((a, b) => a - b)) {
    checkStopped(context);
    const tokens = await ahead.known(at, pass.runners, timeoutMs);
    if ((await runOne(pass, todo[at] as WorkItem, tokens)) === "unsupported") break;
  }
}

/** This shard's chunks of a text, tokenized once by the variant's runner. */
async function textChunks(
  context: VariantContext,
  { client, loaded }: StartedRunner,
  suite: Extract<SuiteWork, { kind: "chunks" }>,
): Promise<WorkItem[]> {
  const timeoutMs = context.plan.timeouts.itemSeconds * 1000;
  const { tokenCount, chunks } = await tokenizeChunks(
    client,
    loaded,
    suite.text,
    suite.ctx,
    timeoutMs,
  );
  if (chunks.length === 0) {
    throw new RunnerFailure(
      "error",
      `${suite.path} has ${tokenCount} tokens; perplexity needs at least ctx = ${suite.ctx}`,
    );
  }
  return chunkWork(suite.suite, chunks, context.work.shard);
}

/**
 * Runs one item and stores its result. `shared`: other items may be in flight on the same runner,
 * so a crash or hang is not pinned on this one: it answers "again" and stores nothing.
 */
async function runOne(
  pass: SuitePass,
  item: WorkItem,
  tokens?: ReadonlyMap<string, number[]>,
  shared = false,
): Promise<"ok" | "unsupported" | "failed" | "again"> {
  const { context } = pass;
  const key = { suiteId: item.suite.id, itemId: item.itemId, repeat: item.repeat };
  const exact = exactKld(context, item);
  const runners = exact ? kldRunners(pass) : pass.runners;
  let on: RunnerClient | undefined;
  try {
    const { client, loaded, init } = await runners.runner();
    on = client;
    const bos = loaded.addBos ? loaded.bos : null;
    const itemAt = {
      ...itemContext(context, item, bos, exact),
      // What the runner can do with what it loaded, where it says (the http runner's server kind).
      capabilities: loaded.capabilities ?? init.capabilities,
      device: loaded.device,
      prefix: loaded.bos,
      tokens,
    };
    const run = () => runItem(client, item, itemAt);
    // Generations are what energy is measured over (per token generated); scoring is not.
    const row =
      item.kind === "generate"
        ? await pass.runners.measured(run, (r) => r.completionTokens ?? 0)
        : await run();
    context.store.recordResult(context.variantId, { ...key, ...row });
    context.progress.tick();
    return "ok";
  } catch (error) {
    checkStopped(context);
    if (!(error instanceof RunnerFailure)) throw error;
    if (error.runnerCode === "UNSUPPORTED") {
      // The engine cannot give this metric (e.g. prompt log-probs over HTTP): not measured, not failed.
      context.store.addSkip(context.variantId, item.suite.id, error.message);
      context.progress.log(
        `· ${context.variant.name} × ${item.suite.id}: skipped, ${error.message}`,
      );
      return "unsupported";
    }
    if (shared && error.kind !== "error") {
      runners.failed(error, on);
      return "again";
    }
    recordFailure(pass, item, error, runners, on);
    return "failed";
  }
}

function itemContext(
  context: VariantContext,
  item: WorkItem,
  bos: number | null,
  reference: boolean,
): ItemContext {
  const { plan, variant, store, runId } = context;
  if (item.kind !== "chunk" || variant.isBaseline) {
    return { plan, bos, topK: plan.kldMethod === "exact" ? 0 : plan.topK };
  }
  const baseline = store.baselineTokens(runId, item.suite.id, item.itemId);
  return { plan, bos, topK: 0, baseline, reference };
}

/** A chunk of a variant that is not the baseline, under `kldMethod: exact`. */
function exactKld(context: VariantContext, item: WorkItem): boolean {
  return (
    item.kind === "chunk" &&
    !context.variant.isBaseline &&
    context.plan.kldMethod === "exact" &&
    context.baselineModel !== undefined
  );
}

function kldRunners(pass: SuitePass): RunnerSession {
  const { context } = pass;
  if (!pass.kldRunners) {
    const spec = runnerSpec(context);
    spec.load = { ...spec.load, reference: context.baselineModel };
    pass.kldRunners = new RunnerSession(spec, { signal: context.signal });
  }
  return pass.kldRunners;
}

/** Stores the failed item with the runner's error; throws VariantFailed past the plan's limit. */
function recordFailure(
  pass: SuitePass,
  item: WorkItem,
  error: RunnerFailure,
  runners: RunnerSession,
  client: RunnerClient | undefined,
): void {
  const { context, failures } = pass;
  const { progress, variant, plan } = context;
  failures.count++;
  const where = `${item.suite.id} item ${item.itemId}`;
  if (failures.count <= LOGGED_FAILURES) {
    progress.log(
      `✗ ${variant.name} × ${where}: ${error.runnerCode ?? error.kind}: ${error.message}`,
    );
  } else if (failures.count === LOGGED_FAILURES + 1) {
    progress.log(`✗ ${variant.name}: more items failed; the report lists each`);
  }
  context.store.recordResult(context.variantId, {
    suiteId: item.suite.id,
    itemId: item.itemId,
    repeat: item.repeat,
    status: "error",
    error: error.message,
    errorKind: error.runnerCode ?? error.kind,
    stderrTail: error.stderrTail,
    metrics: {},
  });
  progress.tick(true);
  runners.failed(error, client);
  if (failures.count > plan.stopAfterFailedItems) {
    throw new VariantFailed(
      `${failures.count} items failed, over the limit of ${plan.stopAfterFailedItems}; last: ${where}: ${error.message}`,
      { cause: error },
    );
  }
}

/** A runner failure outside any one item (e.g. tokenizing a perplexity file) names its suite. */
function inSuite(error: unknown, suiteId: string): unknown {
  if (!(error instanceof RunnerFailure)) return error;
  return new RunnerFailure(error.kind, `suite ${suiteId}: ${error.message}`, {
    ...(error.runnerCode ? { runnerCode: error.runnerCode } : {}),
    stderrTail: error.stderrTail,
    cause: error,
  });
}
