import { execFileSync } from "node:child_process";
import { type Browser, chromium } from "playwright-core";

/** The system Chromium (Debian's `chromium`, installed by .ci/report-deps.sh), or $QBENCH_CHROMIUM. */
export function findChromium(): string {
  if (process.env.QBENCH_CHROMIUM) return process.env.QBENCH_CHROMIUM;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    } catch {
      // not this one
    }
  }
  throw new Error(
    "no Chromium found: run .ci/report-deps.sh (apt-get install chromium) or set QBENCH_CHROMIUM",
  );
}

/** Headless Chromium as CI runs it: as root, offline, nothing started in the background. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
