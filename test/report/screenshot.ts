// Not a test: takes docs/report-screenshot.png from a report, in the same headless Chromium.
// Run: node dist/test/report/screenshot.js REPORT.html [OUT.png]
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../support/paths.js";
import { launchChromium } from "./chromium.js";

const [report, out = join(ROOT, "docs/report-screenshot.png")] = process.argv.slice(2);
if (!report) throw new Error("usage: node dist/test/report/screenshot.js REPORT.html [OUT.png]");
const browser = await launchChromium();
try {
  const page = await browser.newPage({
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  await page.goto(pathToFileURL(report).href);
  await page.waitForFunction(() => document.documentElement.dataset.ready === "true");
  // The part a release manager reads first: the headline and the verdict per variant.
  const bottom = await page.$eval("#verdicts", (e) => e.getBoundingClientRect().bottom);
  await page.screenshot({
    path: out,
    clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom + 16) },
  });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
