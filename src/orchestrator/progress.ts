/** Progress of a run: a live line on a TTY, plain log lines otherwise (CI). */
export interface Progress {
  start(variant: string, suite: string, total: number): void;
  tick(failed?: boolean): void;
  log(line: string): void;
  done(): void;
}

export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  quiet = false,
): Progress {
  const live = Boolean(stream.isTTY) && !quiet;
  let label = "";
  let total = 0;
  let done = 0;
  let failed = 0;
  let startedAt = 0;
  let lastLogged = 0;

  const line = (): string => {
    const seconds = (performance.now() - startedAt) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
    const failures = failed > 0 ? `, ${failed} failed` : "";
    return `${label}: ${done}/${total} items${failures}, ${rate.toFixed(1)} items/s, ETA ${eta}s`;
  };
  const clear = () => {
    if (live) stream.write("\r\x1b[K");
  };

  return {
    start(variant, suite, count) {
      label = `${variant} × ${suite}`;
      total = count;
      done = 0;
      failed = 0;
      startedAt = performance.now();
      lastLogged = startedAt;
      if (live) stream.write(`\r\x1b[K${line()}`);
      else if (!quiet) stream.write(`${label}: ${count} items to run\n`);
    },
    tick(itemFailed = false) {
      done++;
      if (itemFailed) failed++;
      if (live) {
        stream.write(`\r\x1b[K${line()}`);
      } else if (!quiet && (done === total || performance.now() - lastLogged > 10_000)) {
        lastLogged = performance.now();
        stream.write(`${line()}\n`);
      }
    },
    log(message) {
      if (quiet) return;
      clear();
      stream.write(`${message}\n`);
      if (live && total > 0 && done < total) stream.write(line());
    },
    /** Ends the live line; a second call (an interrupt after a variant's own) writes nothing. */
    done() {
      if (live && total > 0) stream.write("\n");
      total = 0;
    },
  };
}
