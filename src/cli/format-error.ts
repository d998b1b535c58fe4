import { fromLeafError, InputError, InterruptedError, QbenchError } from "../errors.js";
import { EXIT } from "../exit-codes.js";

/** Exit codes (contract): 0 all SHIP · 1 a NO-SHIP · 2 bad input, nothing ran · 3 could not complete · 130/143 interrupted (SIGINT/SIGTERM). */

/** What the CLI prints for an error that ended a command, and the exit code it means. */
export function formatError(
  thrown: unknown,
  verbose: boolean,
): { stderr: string; exitCode: number } {
  const error = fromLeafError(thrown);
  const message = oneLine(error instanceof Error ? error.message : String(error));
  if (error instanceof InterruptedError) {
    const exitCode = error.signal === "SIGTERM" ? EXIT.sigterm : EXIT.sigint;
    return { stderr: `qbench: ${message}\n`, exitCode };
  }
  if (error instanceof InputError)
    return { stderr: `qbench: ${message}\n`, exitCode: EXIT.badInput };
  let stderr = `qbench: ${message}\n`;
  if (verbose && error instanceof Error && error.stack) stderr += `${error.stack}\n`;
  else if (!(error instanceof QbenchError)) stderr += "(run with --verbose for the stack)\n";
  return { stderr, exitCode: EXIT.failed };
}

/** A message quotes user text (keys, values, lines): its control characters are shown escaped, so it stays one line. */
function oneLine(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return message.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}
