import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGguf } from "../../lib/gguf/reader.js";
import type { Imatrix } from "../gguf/quantize/imatrix.js";
import { quantizeGguf } from "../gguf/quantize/quantize-file.js";
import { RunnerSession, type RunnerSpec } from "../orchestrator/runner-session.js";
import type { TokenizedText } from "../orchestrator/score-chunks.js";
import { TIGHT_COVERAGE } from "../scoring/kld.js";
import {
  type Assignment,
  assignmentKey,
  assignmentOverrides,
  groupAssignment,
  type Mode,
  targetFor,
  toOverrides,
} from "./assign.js";
import type { QuantizableTensor, TensorGroup } from "./groups.js";
import { quantizableTensors } from "./groups.js";
import {
  type LiveRunner,
  type Pass,
  type PassFigures,
  passFigures,
  passPerplexity,
  scoreOn,
  scorePass,
  topKCoverage,
} from "./passes.js";

export const KLD_METHODS = ["auto", "exact", "top-k"] as const;
export type KldMethod = (typeof KLD_METHODS)[number];

export interface SensitivitySetup {
  /** The source model (F16/BF16/F32). */
  model: string;
  text: string;
  ctx: number;
  chunks: number | undefined;
  topK: number;
  kld: KldMethod;
  imatrix?: { path: string; data: Imatrix } | undefined;
  /** How to start a runner on a model file of this size. */
  spec: (model: string, bytes: number) => RunnerSpec;
  /** Where variant files are written (a fresh folder under it, removed after); default the OS's. */
  tempDir?: string | undefined;
  /**
   * Start and load a runner for every variant even where the runner can swap weights in place
   * (benches and tests compare the two ways).
   */
  reload?: boolean | undefined;
  onTokenized?: (text: TokenizedText) => void;
}

/** What every group's pass is compared with: the source's one pass over the calibration text. */
export interface Baseline {
  setup: SensitivitySetup;
  tensors: QuantizableTensor[];
  sourceBytes: number;
  pass: Pass;
  ppl: number;
  /** Mean baseline mass its top-K covers; the KLD is a bound when < TIGHT_COVERAGE. */
  coverage: number;
  /** Whether group passes evaluate the source in lockstep (exact) or use the stored top-K. */
  exact: boolean;
}

/** One group's figures at one type and mode. */
export interface GroupResult {
  group: TensorGroup;
  type: number;
  mode: Mode;
  figures: PassFigures;
  /** Weights quantized: the group's (only) or everything else's (except). */
  quantizedWeights: number;
  quantizeSeconds: number;
  passSeconds: number;
  /** Measured for an earlier type that writes the same file (the fall-backs made them equal). */
  reused: boolean;
  /** The variant's tensors that were swapped into a runner already loaded (undefined: a load). */
  swapped?: number | undefined;
}

export interface GroupProgress {
  done: number;
  total: number;
  result: GroupResult;
  elapsedSeconds: number;
  etaSeconds: number;
}

/** The source's pass, once: its log-probs and top-K are what every group's KLD is computed against. */
export async function measureBaseline(setup: SensitivitySetup): Promise<Baseline> {
  const file = await readGguf(setup.model);
  const tensors = quantizableTensors(file);
  const pass = await scorePass(setup.spec(setup.model, file.fileSize), setup.text, {
    ctx: setup.ctx,
    chunks: setup.chunks,
    topK: setup.kld === "exact" ? 0 : setup.topK,
    onTokenized: setup.onTokenized,
  });
  const coverage = setup.kld === "exact" ? 0 : topKCoverage(pass);
  const exact = setup.kld === "exact" || (setup.kld === "auto" && coverage < TIGHT_COVERAGE);
  return {
    setup,
    tensors,
    sourceBytes: file.fileSize,
    pass,
    ppl: passPerplexity(pass),
    coverage,
    exact,
  };
}

/**
 * Each group's pass: the variant file (the group alone in `type`, or all but the group)
 * written by qbench's quantizer into a temporary folder, loaded, compared with the baseline,
 * deleted. Variants that write the same file as one measured before (`cache`) are not measured
 * again.
 */
export async function measureGroups(
  baseline: Baseline,
  groups: readonly TensorGroup[],
  type: number,
  mode: Mode,
  options: {
    cache?: Map<string, GroupResult>;
    onGroup?: (progress: GroupProgress) => void;
    /** Groups measured before this call in the same command, for the ETA. */
    offset?: { done: number; total: number; startedAt: number };
  } = {},
): Promise<GroupResult[]> {
  const { setup, tensors } = baseline;
  const dir = await mkdtemp(join(setup.tempDir ?? tmpdir(), "qbench-sensitivity-"));
  const offset = options.offset ?? { done: 0, total: groups.length, startedAt: performance.now() };
  const results: GroupResult[] = [];
  const runner = new VariantRunner(baseline);
  try {
    for (const [i, group] of groups.entries()) {
      const assignment = groupAssignment(tensors, group, type, mode);
      const key = assignmentKey(tensors, assignment);
      const known = options.cache?.get(key);
      const result = known
        ? { ...known, group, type, mode, reused: true }
        : await measureVariant(baseline, runner, assignment, join(dir, `variant-${i}.gguf`), type, {
            group,
            mode,
          });
      options.cache?.set(key, result);
      results.push(result);
      const done = offset.done + i + 1;
      const elapsedSeconds = (performance.now() - offset.startedAt) / 1000;
      options.onGroup?.({
        done,
        total: offset.total,
        result,
        elapsedSeconds,
        etaSeconds: (elapsedSeconds / done) * (offset.total - done),
      });
    }
  } finally {
    await runner.close();
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

/**
 * The runner the groups' variants are measured on. The first variant is loaded; when the runner
 * lists swap-weights (the WebGPU runner), each next one goes into that runner by its tensors
 * whose type differs from the file it holds (all variants come from one source, one imatrix and
 * a deterministic quantizer, so a tensor of the same type has the same bytes), and the rest of
 * the model stays on the GPU. A runner without it (llama.cpp) is started and stopped per variant.
 */
class VariantRunner {
  private session: RunnerSession | undefined;
  private live: LiveRunner | undefined;
  /** Each tensor's type in the file the live runner holds. */
  private types = new Map<string, number>();
  /** A swap reads and uploads tensors as a load does: it gets a load's time. */
  private loadTimeoutMs: number | undefined;

  constructor(private readonly baseline: Baseline) {}

  async pass(path: string, bytes: number): Promise<{ pass: Pass; swapped?: number }> {
    const { setup } = this.baseline;
    const started = performance.now();
    const options = {
      ctx: setup.ctx,
      chunks: setup.chunks,
      topK: 0,
      baseline: this.baseline.pass,
      reference: this.baseline.exact,
    };
    const types = new Map((await readGguf(path)).tensors.map((t) => [t.name, t.type]));
    const live = this.live;
    if (live?.init.capabilities.includes("swap-weights") && !setup.reload) {
      const tensors = [...types].filter(([n, t]) => this.types.get(n) !== t).map(([n]) => n);
      const swap = await live.client.request(
        "swapWeights",
        { model: path, tensors },
        this.loadTimeoutMs,
      );
      this.types = types;
      return { pass: await scoreOn(live, setup.text, options, started), swapped: swap.swapped };
    }
    await this.close();
    const spec = setup.spec(path, bytes);
    if (this.baseline.exact) spec.load.reference = setup.model;
    this.session = new RunnerSession(spec);
    this.loadTimeoutMs = spec.loadTimeoutMs;
    const fresh = await this.session.runner();
    this.live = fresh;
    this.types = types;
    const pass = await scoreOn(fresh, setup.text, options, started);
    if (!fresh.init.capabilities.includes("swap-weights") || setup.reload) await this.close();
    return { pass };
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.live = undefined;
    await session?.close();
  }
}

async function measureVariant(
  baseline: Baseline,
  runner: VariantRunner,
  assignment: Assignment,
  path: string,
  type: number,
  what: { group: TensorGroup; mode: Mode },
): Promise<GroupResult> {
  const { setup, tensors } = baseline;
  const quantized = await quantizeGguf({
    input: setup.model,
    output: path,
    target: targetFor(type),
    pure: true,
    tensorTypes: toOverrides(assignmentOverrides(tensors, assignment, type)),
    imatrix: setup.imatrix,
  });
  try {
    const { pass, swapped } = await runner.pass(path, quantized.outputBytes);
    const inGroup = new Set(what.group.tensors.map((t) => t.name));
    const quantizedWeights = tensors
      .filter((t) => inGroup.has(t.name) === (what.mode === "only"))
      .reduce((sum, t) => sum + t.elements, 0);
    return {
      ...what,
      type,
      figures: passFigures(pass, baseline.pass),
      quantizedWeights,
      quantizeSeconds: quantized.seconds,
      passSeconds: pass.seconds,
      reused: false,
      swapped,
    };
  } finally {
    await rm(path, { force: true });
  }
}
