/**
 * What the GGUF reader throws: a file it cannot open or parse. Its own class, so this leaf
 * depends on nothing; qbench's src/ maps it to an InputError (exit 2) with the same message.
 */

/** Every reader failure is the model file's fault (missing, unreadable, truncated or malformed). */
export type GgufErrorCode = "BAD_MODEL";

export class GgufError extends Error {
  readonly code: GgufErrorCode;
  /** The file, as given to readGguf. */
  readonly location: string;
  /** The message without the file's name in front. */
  readonly reason: string;

  constructor(location: string, reason: string, options: { cause?: unknown } = {}) {
    super(`${location}: ${reason}`, { cause: options.cause });
    this.name = "GgufError";
    this.code = "BAD_MODEL";
    this.location = location;
    this.reason = reason;
  }
}
