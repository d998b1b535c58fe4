/** qbench's exit codes (a contract: CI jobs gate on them; docs/DESIGN.md "Exit codes"). */
export const EXIT = {
  /** Every variant SHIP (or a command that judges nothing succeeded). */
  ok: 0,
  /** At least one variant NO-SHIP. */
  noShip: 1,
  /** Bad input: plan, suite, model, flag; nothing ran. */
  badInput: 2,
  /** The run itself failed (runner, store, machine). */
  failed: 3,
  /** Stopped by SIGINT (128 + 2). */
  sigint: 130,
  /** Stopped by SIGTERM (128 + 15). */
  sigterm: 143,
} as const;
