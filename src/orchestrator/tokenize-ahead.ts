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

export class TokenizeAhead {
  #tokens = new Map<string, number[]>();
  /** Items before this index have been asked for (or were never to be). */
  #until = 0;
  #off = false;

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
   * one request when `at` is past what was asked. Undefined where the runner has no
   * tokenize-batch; a failed request only costs the prefetch (each item then tokenizes its own
   * texts, and fails on its own if the runner does).
   */
  async known(
    at: number,
    runners: Pick<RunnerSession, "runner" | "failed">,
    timeoutMs: number,
  ): Promise<ReadonlyMap<string, number[]> | undefined> {
    if (this.#off) return undefined;
    if (at < this.#until) return this.#tokens;
    const { client, loaded, init } = await runners.runner();
    if (!(loaded.capabilities ?? init.capabilities).includes("tokenize-batch")) {
      this.#off = true;
      return undefined;
    }
    this.#until = at + this.block;
    this.#tokens = new Map();
    const texts = new Set<string>();
    for (const item of this.items.slice(at, this.#until)) {
      if (item === undefined) continue;
      try {
        for (const text of choiceTexts(item)) texts.add(text);
      } catch {
        // The item fails with this when it is scored; nothing to ask for it now.
      }
    }
    const asked = [...texts];
    if (asked.length === 0) return this.#tokens;
    try {
      const { batch } = await client.request(
        "tokenizeBatch",
        { texts: asked, addBos: true },
        timeoutMs,
      );
      if (batch.length === asked.length) {
        for (const [i, text] of asked.entries()) this.#tokens.set(text, batch[i] as number[]);
      }
    } catch (error) {
      if (!(error instanceof RunnerFailure)) throw error;
      runners.failed(error);
    }
    return this.#tokens;
  }
}
