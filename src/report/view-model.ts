import type { ReasonStatus } from "../verdict/policy.js";
import type { ChartSpec } from "./chart-spec.js";

/**
 * Everything a report shows, built from the database alone (see build-model.ts). Display
 * strings are formatted here so that templates only lay them out; every string that came from
 * a model, a prompt, a suite or a runner is plain text and is escaped where it is written.
 */
export interface ReportModel {
  run: RunInfo;
  /** The baseline variant's name; null when the plan has none stored. */
  baseline: string | null;
  counts: {
    variants: number;
    /** "3 variants" / "1 variant". */
    variantsLabel: string;
    ship: number;
    noShip: number;
    failed: number;
  };
  /** The confidence of every interval shown, as text ("95 %"). */
  confidence: string;
  verdicts: VerdictRow[];
  quality: QualitySuite[];
  performance: PerformanceRow[];
  memory: MemoryTable;
  charts: ChartSpec[];
  /** Why a chart group is empty (e.g. history with one run), or null. */
  historyNote: string | null;
  disagreements: Disagreements;
  /** People's reviews of the disagreeing outputs (`qbench view`). */
  reviews: ReviewSummary;
  environment: Environment;
}

export interface ReviewRow {
  variant: string;
  /** Items where the variant's key-metric score differs from the baseline's. */
  disagreeing: number;
  regressions: number;
  reviewed: number;
  acceptable: number;
  notAcceptable: number;
  unsure: number;
  unreviewedRegressions: number;
  /** Reviews made on an earlier run whose output on the item was the same text. */
  carried: number;
}

export interface ReviewSummary {
  /** Reviews that count for this run's disagreeing outputs, carried-over ones included. */
  reviewed: number;
  /** Who made them, sorted. */
  reviewers: string[];
  rows: ReviewRow[];
}

export interface RunInfo {
  id: number;
  plan: string;
  planFile: string;
  status: string;
  /** As stored (ISO 8601, UTC). */
  startedAt: string;
  /** For people: "2026-01-31 07:01:43 UTC". */
  started: string;
  finishedAt: string | null;
  duration: string | null;
  host: string;
}

export interface ReasonRow {
  status: ReasonStatus;
  /** ✓ ✗ ? ! · */
  mark: string;
  gate: string;
  metric: string;
  suite: string | null;
  message: string;
  blocking: boolean;
}

export interface VerdictRow {
  variant: string;
  precision: string;
  baseline: boolean;
  verdict: "SHIP" | "NO-SHIP";
  ship: boolean;
  /** The variant did not run to the end (its runner failed): shown as failed, with its error. */
  failed: boolean;
  error: string | null;
  size: string;
  sizeChange: string | null;
  /** The figure that decides: the first finding that blocks, else the weakest quality finding. */
  deciding: DecidingFigure | null;
  speed: string | null;
  /** Every finding that makes the variant NO-SHIP. */
  blocking: ReasonRow[];
  /** The findings that do not block, worst first. */
  others: ReasonRow[];
  /** What the verdict table shows at once: the first blocking findings. */
  shown: ReasonRow[];
  /** The rest, behind a fold. */
  folded: ReasonRow[];
  /** What the fold holds, e.g. "3 more that block · 6 pass · 2 inconclusive". */
  tally: string;
  /** Summed time of the variant's stored results, in seconds (JUnit's time). */
  busySeconds: number;
}

export interface DecidingFigure {
  /** "exact_match on qa", "perplexity on wiki", "completion length". */
  what: string;
  /** "−12.0 % vs baseline", "no change (identical on every item)", "0.107 (limit ≤ 0.0500)". */
  figure: string;
  /** "95 % CI [−18.0 %, −6.0 %]", or why there is none; null when the gate has no interval. */
  interval: string | null;
  /** "blocks", "inconclusive, blocks", "passes", "warning". */
  outcome: string;
  /** The finding's status, which colours the figure. */
  status: ReasonStatus;
}

export interface QualityCell {
  value: string;
  /** Relative to the baseline on the same items, e.g. "−1.2 %"; null for the baseline itself. */
  delta: string | null;
  /** The interval the gate judged, e.g. "[−2.0 %, −0.4 %]". */
  interval: string | null;
  status: ReasonStatus | "none";
  /** The full finding, for a tooltip. */
  title: string;
}

export interface QualityRow {
  variant: string;
  baseline: boolean;
  failed: boolean;
  n: string;
  cells: QualityCell[];
}

export interface QualitySuite {
  suite: string;
  description: string;
  columns: string[];
  rows: QualityRow[];
}

export interface PerformanceRow {
  variant: string;
  baseline: boolean;
  failed: boolean;
  generations: string;
  ttftP50: string;
  ttftP90: string;
  ttftP99: string;
  ttftVsBaseline: string | null;
  prefillTps: string;
  decodeTps: string;
  decodeVsBaseline: string | null;
  e2eP50: string;
  e2eP90: string;
  e2eP99: string;
}

export interface MemoryRow {
  variant: string;
  baseline: boolean;
  failed: boolean;
  modelSize: string;
  modelSaving: string | null;
  bitsPerWeight: string;
  parameters: string;
  peakRss: string;
  peakRssSaving: string | null;
  engineDevice: string;
  engineDeviceSaving: string | null;
  devicePeak: string;
  devicePeakSaving: string | null;
  processDevicePeak: string;
  /** The KV cache's K / V types (`f16 / f16` by default). */
  kvCache: string;
  /** The engine's own KV cache and compute buffers at the plan's context. */
  engineKv: string;
  engineKvSaving: string | null;
  engineCompute: string;
  /** Joules per generated token over the measured generations, and the mean power. */
  energyPerToken: string;
  meanWatts: string;
  energySource: string;
  /** Sequences of the plan's context the budget holds beside weights and compute, and the longest context. */
  capacity: string;
  loadTime: string;
  tensorTypes: string;
  /** Why a figure is missing, one sentence per reason ("device peak: no NVIDIA GPU here"). */
  notes: string[];
}

export interface MemoryTable {
  rows: MemoryRow[];
  /** Whether any variant has a device peak stored (nvidia-smi sampling): the column is shown then. */
  hasDevicePeak: boolean;
  /** Some variant has a figure it could not measure, with the reason. */
  hasNotes: boolean;
  hasEngineDevice: boolean;
  /** Some variant has the engine's KV / compute figures (llama.cpp runner). */
  hasEngineBuffers: boolean;
  /** Some variant has an energy figure. */
  hasEnergy: boolean;
  /** The device budget capacity is shown against (gates.budgets.deviceBytes), if set. */
  capacityBudget: string | null;
}

export interface DisagreementOutput {
  variant: string;
  text: string;
  /** The item's score, e.g. "✓" / "✗" for exact match or "0.412" for ROUGE. */
  score: string;
  status: "ok" | "error" | "missing";
  /** Against the baseline on this item. */
  change: "worse" | "better" | "same" | "baseline";
}

export interface DisagreementItem {
  suite: string;
  item: string;
  metric: string;
  /** regression: a variant scores below the baseline (baseline right, variant wrong first). */
  kind: "regression" | "improvement";
  prompt: string;
  reference: string;
  outputs: DisagreementOutput[];
}

export interface DisagreementSuite {
  suite: string;
  metric: string;
  items: number;
  regressions: number;
  improvements: number;
  shown: number;
}

export interface Disagreements {
  /** Items kept per suite, worst first: the report says so where it shows them. */
  cap: number;
  /** Characters kept of each prompt, reference and output. */
  textCap: number;
  suites: DisagreementSuite[];
  variants: string[];
  items: DisagreementItem[];
}

export interface Environment {
  run: Array<{ label: string; value: string }>;
  variants: Array<{
    variant: string;
    status: string;
    backend: string;
    device: string;
    runner: string;
    engine: string;
    threads: string;
    context: string;
    load: string;
    model: string;
    sha256: string;
    error: string | null;
    stderrTail: string | null;
  }>;
}
