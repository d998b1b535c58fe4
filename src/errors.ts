import { GgufError } from "../lib/gguf/errors.js";

/** Every error qbench raises on purpose carries a stable `code`; only src/cli/main.ts turns them into exit codes. */
export type ErrorCode =
  | "BAD_USAGE"
  | "BAD_PLAN"
  | "BAD_SUITE"
  | "BAD_MODEL"
  | "BAD_INPUT"
  | "RUN_FAILED"
  | "RUN_INTERRUPTED"
  | "RUNNER_FAILED"
  | "BAD_RUNNER_RESPONSE";

export class QbenchError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is, e.g. `suites/qa.jsonl:12`, when there is a place to name. */
  readonly location: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { location?: string; cause?: unknown } = {},
  ) {
    super(options.location ? `${options.location}: ${message}` : message, { cause: options.cause });
    this.name = "QbenchError";
    this.code = code;
    this.location = options.location;
  }
}

/** The message of anything thrown; a thrown non-Error is shown as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type InputErrorCode = "BAD_USAGE" | "BAD_PLAN" | "BAD_SUITE" | "BAD_MODEL" | "BAD_INPUT";

/** Bad input that the user must fix; nothing ran (exit 2). */
export class InputError extends QbenchError {
  declare readonly code: InputErrorCode;

  constructor(
    code: InputErrorCode,
    message: string,
    options: { location?: string; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = "InputError";
  }
}

/** The run started but could not complete (exit 3). */
export class RunError extends QbenchError {
  constructor(message: string, options: { location?: string; cause?: unknown } = {}) {
    super("RUN_FAILED", message, options);
    this.name = "RunError";
  }
}

/** The run was stopped by a signal; it is stored as `interrupted` (exit 128 + the signal's number). */
export class InterruptedError extends QbenchError {
  readonly signal: "SIGINT" | "SIGTERM";

  constructor(signal: "SIGINT" | "SIGTERM", message: string) {
    super("RUN_INTERRUPTED", message);
    this.name = "InterruptedError";
    this.signal = signal;
  }
}

/** How a runner let an item down; stored with the item, never thrown past the run loop. */
export type RunnerFailureKind = "crash" | "timeout" | "error";

export class RunnerFailure extends QbenchError {
  readonly kind: RunnerFailureKind;
  /** The runner's `data.code` for JSON-RPC errors (e.g. `OUT_OF_MEMORY`). */
  readonly runnerCode: string | undefined;
  /** The last lines the runner wrote to stderr. */
  readonly stderrTail: string;

  constructor(
    kind: RunnerFailureKind,
    message: string,
    options: { runnerCode?: string; stderrTail?: string; cause?: unknown } = {},
  ) {
    super("RUNNER_FAILED", message, { cause: options.cause });
    this.name = "RunnerFailure";
    this.kind = kind;
    this.runnerCode = options.runnerCode;
    this.stderrTail = options.stderrTail ?? "";
  }
}

/**
 * A runner answered with a result that does not match the protocol (a missing field, a string
 * for a number): the item (or, for initialize and load, the variant) fails with this, never a
 * TypeError deep inside scoring. The runner is alive, so its kind is `error`.
 */
export class BadRunnerResponse extends RunnerFailure {
  override readonly code = "BAD_RUNNER_RESPONSE";
  /** The method whose result was malformed, e.g. `evaluate`. */
  readonly method: string;
  /** Where in the result, e.g. `scored[3].top[0][1]`; empty for the result itself. */
  readonly field: string;

  constructor(
    method: string,
    field: string,
    message: string,
    options: { stderrTail?: string } = {},
  ) {
    super("error", message, { runnerCode: "BAD_RUNNER_RESPONSE", ...options });
    this.name = "BadRunnerResponse";
    this.method = method;
    this.field = field;
  }
}

/**
 * The error qbench reports for one that a dependency-free leaf (lib/) threw: a GGUF file the reader
 * refuses is bad input (exit 2) with the reader's own message; anything else is unchanged.
 */
export function fromLeafError(error: unknown): unknown {
  if (error instanceof GgufError) {
    return new InputError(error.code, error.reason, { location: error.location, cause: error });
  }
  return error;
}
