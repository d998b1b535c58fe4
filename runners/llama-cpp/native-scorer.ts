import type { Llama, LlamaContext, LlamaModel } from "node-llama-cpp";
import { loadScorerAddon } from "../../lib/native/scorer-addon.js";

/** One packed window: its tokens from `tokenStart`, as `evaluate` takes them. */
export interface NativeWindow {
  tokens: readonly number[];
  scoreFrom: number;
  /** Tokens decoded (the rest are only scored): `tokens.length`, or one fewer past the context. */
  decodeCount: number;
  topK: number;
  targets?: readonly (readonly number[])[] | undefined;
  /** The sequence it is decoded in (0 unless the scorer has several). */
  sequence: number;
}

/** Per scored position, what node-llama-cpp's SampleToken would return: raw float logits. */
export interface NativeScores {
  max: Float32Array;
  weight: Float32Array;
  actual: Float32Array;
  topIds: Int32Array;
  topLogits: Float32Array;
  targets: Float32Array;
}

/**
 * Each scored position's log-softmax on llama-perplexity's 16-bit grid (full-kld.ts's toGrid,
 * computed in C++ in the same double arithmetic): row k of `levels` is position k's.
 */
export interface NativeGrids {
  levels: Uint16Array;
  scale: Float32Array;
  minLogprob: Float32Array;
  /** The exact log-probability of each position's next token. */
  targetLogprob: Float64Array;
}

/** Per scored position, full-kld.ts's kldAgainstGrid against a reference's grids. */
export interface NativeKld {
  kld: Float64Array;
  sameTop: Uint8Array;
  logprob: Float64Array;
}

/** What the addon's `score` turns each scored row into (native/scorer.cc's Mode). */
/** A window scored alone, whole-vocabulary (no top-K, no targets). */
type OneWindow = Omit<NativeWindow, "topK" | "targets" | "sequence">;

const MODE = { reduce: 0, grid: 1, kld: 2 } as const;

interface AddonScorer {
  readonly vocabularySize: number;
  score(
    tokens: Int32Array,
    windows: Int32Array,
    targetIds: Int32Array,
    targetOffsets: Int32Array,
    chunk: number,
    mode: number,
    levels?: Uint16Array,
    scales?: Float32Array,
    minLogprobs?: Float32Array,
  ): Promise<NativeScores & Partial<NativeGrids> & Partial<NativeKld>>;
  choices(
    context: Int32Array,
    continuations: Int32Array,
    offsets: Int32Array,
  ): Promise<NativeScores>;
  greedy(tokens: Int32Array, clear: boolean, steps: number): Promise<{ picked: Int32Array }>;
  dispose(): void;
}

/** A scorer context of one unified KV cache for `sequences` sequences (multiple choice). */
export interface SharedCache {
  sequences: number;
  contextSize: number;
}

/** Per continuation token, the figures scoreChoices needs: as `score` gives them, and the argmax. */
export interface ChoiceScores {
  max: Float32Array;
  weight: Float32Array;
  actual: Float32Array;
  argmax: Int32Array;
}

/** The scorer for one model, or why there is none (then node-llama-cpp's JS path scores). */
export type NativeScorerChoice = { scorer: NativeScorer } | { scorer?: undefined; reason: string };

/**
 * The native scorer (native/scorer.cc): scores windows in C++ on its own llama_context over the
 * model node-llama-cpp loaded, with the figures node-llama-cpp's SampleToken gives. Calls are
 * serialised: one context, one decode at a time.
 */
export class NativeScorer {
  readonly #addon: AddonScorer;
  /** controlledEvaluate's batch size: a window is decoded in chunks of this many tokens. */
  readonly chunk: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(addon: AddonScorer, chunk: number) {
    this.#addon = addon;
    this.chunk = chunk;
  }

  /**
   * Makes a scorer with `context`'s parameters (its own llama_context), when everything it relies
   * on holds: the CPU backend with no GPU layers, node-llama-cpp's prebuilt binary, and the addon
   * built for this node-llama-cpp and not switched off (`loadScorerAddon`).
   */
  static create(
    llama: Llama,
    model: LlamaModel,
    context: LlamaContext,
    env: NodeJS.ProcessEnv,
    shared?: SharedCache,
  ): NativeScorerChoice {
    if (llama.gpu !== false || model.gpuLayers !== 0) return { reason: "off: GPU backend" };
    if (llama.buildType !== "prebuilt") return { reason: "off: local llama.cpp build" };
    const loaded = loadScorerAddon(env);
    if (!loaded.addon) return { reason: loaded.reason };
    const Scorer = loaded.addon.Scorer as new (
      model: object,
      context: object,
      modelPath: string,
      shared?: SharedCache,
    ) => AddonScorer;
    const internal = (object: object, field: string): object =>
      (object as unknown as Record<string, object>)[field] as object;
    try {
      const scorer = new Scorer(
        internal(model, "_model"),
        internal(context, "_ctx"),
        internal(model, "_modelPath") as unknown as string,
        shared,
      );
      return { scorer: new NativeScorer(scorer, context.batchSize) };
    } catch (error) {
      return { reason: `failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  get vocabularySize(): number {
    return this.#addon.vocabularySize;
  }

  /** Scores the windows (each in its own sequence), decoding their chunks side by side. */
  score(windows: readonly NativeWindow[]): Promise<NativeScores> {
    const run = this.#queue.then(() => this.#score(windows, MODE.reduce));
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * One window decoded as `score` decodes it (row k: the logits after tokens[scoreFrom - 1 + k]),
   * each scored position's logits as llama-perplexity's 16-bit grid.
   */
  async grids(window: OneWindow): Promise<NativeGrids> {
    const { levels, scale, minLogprob, targetLogprob } = await this.#one(window, MODE.grid);
    if (!levels || !scale || !minLogprob || !targetLogprob) {
      throw new Error("the native scorer returned no grids");
    }
    return { levels, scale, minLogprob, targetLogprob };
  }

  /**
   * One window decoded as `grids` decodes it, each scored position's KLD against the reference's
   * `grids` of the same window (its `grids` result), its same-top and its log-prob.
   */
  async kldAgainst(window: OneWindow, grids: NativeGrids): Promise<NativeKld> {
    const { kld, sameTop, logprob } = await this.#one(window, MODE.kld, grids);
    if (!kld || !sameTop || !logprob) throw new Error("the native scorer returned no KLD");
    return { kld, sameTop, logprob };
  }

  /** One window in sequence 0, queued behind the scorer's other calls. */
  #one(window: OneWindow, mode: number, grids?: NativeGrids) {
    const run = this.#queue.then(() =>
      this.#score([{ ...window, topK: 0, sequence: 0 }], mode, grids),
    );
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * The continuations of one context, decoded as llama-perplexity's hellaswag_score decodes a
   * task (on a scorer made with a `SharedCache`): one batch, the context once in every
   * continuation's sequence. Position k is continuation token k's, the continuations in order.
   */
  choices(
    context: readonly number[],
    continuations: readonly (readonly number[])[],
  ): Promise<ChoiceScores> {
    const offsets = [0];
    for (const continuation of continuations)
      offsets.push((offsets.at(-1) as number) + continuation.length);
    const run = this.#queue.then(async () => {
      const scores = await this.#addon.choices(
        Int32Array.from(context),
        Int32Array.from(continuations.flat()),
        Int32Array.from(offsets),
      );
      return {
        max: scores.max,
        weight: scores.weight,
        actual: scores.actual,
        argmax: scores.topIds,
      };
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Greedy decoding in C++, as llama-bench's tg loop decodes: `tokens` after a cleared cache
   * (`clear`) or after what the previous greedy call left, then `steps` − 1 single-token decodes,
   * each of the token picked before it; the `steps` picks (the argmax, as llama.cpp's greedy
   * sampler picks). The last pick is not decoded: pass it to the next call. Any other call of this
   * scorer in between clears the cache, and a call that does not `clear` then fails.
   */
  greedy(tokens: readonly number[], clear: boolean, steps = 1): Promise<Int32Array> {
    const run = this.#queue.then(
      async () => (await this.#addon.greedy(Int32Array.from(tokens), clear, steps)).picked,
    );
    this.#queue = run.catch(() => {});
    return run;
  }

  #score(
    windows: readonly NativeWindow[],
    mode: number,
    grids?: NativeGrids,
  ): Promise<NativeScores & Partial<NativeGrids> & Partial<NativeKld>> {
    const tokens = new Int32Array(windows.reduce((n, w) => n + w.tokens.length, 0));
    const packed = new Int32Array(windows.length * 6);
    const offsets = [0];
    const ids: number[] = [];
    let at = 0;
    for (const [i, w] of windows.entries()) {
      tokens.set(w.tokens, at);
      packed.set([at, w.tokens.length, w.scoreFrom, w.decodeCount, w.topK, w.sequence], i * 6);
      at += w.tokens.length;
      for (let k = 0; k < w.tokens.length - w.scoreFrom; k++) {
        for (const id of w.targets?.[k] ?? []) ids.push(id);
        offsets.push(ids.length);
      }
    }
    return this.#addon.score(
      tokens,
      packed,
      Int32Array.from(ids),
      Int32Array.from(offsets),
      this.chunk,
      mode,
      grids?.levels,
      grids?.scale,
      grids?.minLogprob,
    );
  }

  /** Frees the scorer's context; call before the model is disposed. */
  async dispose(): Promise<void> {
    await this.#queue;
    this.#addon.dispose();
  }
}
