/**
 * Multiple-choice items' texts tokenized many items to a request, ahead of their scoring: one
 * tokenizeBatch for the next BLOCK items instead of a request per item, so that each item costs
 * the runner one round trip (its scoreChoices), as llama-perplexity tokenizes its tasks up front.
 */
import { RunnerFailure } from "../errors.js";
import type { RunnerSession } from "./runner-session.js";
import { type ChoiceItem, choiceTexts } from "./score-choices.js";

/** Items tokenized per request: a few hundred texts, well under any runner's line limit. */
const BLOCK = 64;

type Runners = Pick<RunnerSession, "runner" | "failed">;

type Tokens = ReadonlyMap<string, number[]> | undefined;

export class TokenizeAhead {
  /**
   * The last two blocks asked for (items in flight straddle at most one boundary), each its
   * tokens by text, or undefined where none can be asked; the newest last.
   */
  #blocks: Array<{ from: number; tokens: Promise<Tokens> }> = [];
  /** Items before this index have been asked for (or were never to be). */
  #until = 0;

  /**
   * The run's items in order, a choice item's ChoiceItem or undefined for any other kind;
   * `block` items are tokenized to a request.
   */
  constructor(
    private readonly items: readonly (ChoiceItem | undefined)[],
    private readonly block = BLOCK,
  ) {}

  /**
   * The tokens (with BOS) known for item `at`'s texts and the `block` − 1 after it, asked for in
   * one request when `at` is past what was asked (once, however many items in flight ask).
   * Undefined where the runner has no tokenize-batch; a failed request only costs the prefetch
   * (each item then tokenizes its own texts, and fails on its own if the runner does).
   */
  known(at: number, runners: Runners, timeoutMs: number): Promise<Tokens> {
    if (at >= this.#until) {
      const last = this.#blocks.at(-1)?.tokens ?? Promise.resolve(new Map());
      const tokens = last.then((before) =>
        before === undefined ? undefined : this.#ask(at, runners, timeoutMs),
      );
      this.#blocks = [...this.#blocks.slice(-1), { from: at, tokens }];
      this.#until = at + this.block;
    }
    const [older, newer] = this.#blocks;
    const block = newer && newer.from > at ? older : (newer ?? older);
    return block?.tokens ?? Promise.resolve(undefined);
  }

  async #ask(from: number, runners: Runners, timeoutMs: number): Promise<Tokens> {
    const { client, loaded, init } = await runners.runner();
    if (!(loaded.capabilities ?? init.capabilities).includes("tokenize-batch")) return undefined;
    const tokens = new Map<string, number[]>();
    const texts = new Set<string>();
    for (const item of this.items.slice(from, from + this.block)) {
      if (item === undefined) continue;
      try {
        for (const text of choiceTexts(item)) texts.add(text);
      } catch {
        // The item fails with this when it is scored; nothing to ask for it now.
      }
    }
    const asked = [...texts];
    if (asked.length === 0) return tokens;
    try {
      const { batch } = await client.request(
        "tokenizeBatch",
        { texts: asked, addBos: true },
        timeoutMs,
      );
      if (batch.length === asked.length) {
        for (const [i, text] of asked.entries()) tokens.set(text, batch[i] as number[]);
      }
    } catch (error) {
      if (!(error instanceof RunnerFailure)) throw error;
      runners.failed(error, client);
    }
    return tokens;
  }
}
