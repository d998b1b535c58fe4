// Not a test: takes docs/view-screenshot.png, what a reviewer sees in qbench view, from real runs
// on stories260K (fp16 against Q4_0, four items made regressions in the stored scores; two reviews made with the keys).
// Run: node dist/test/view/screenshot.js [OUT.png]
import { join } from "node:path";
import { startViewer } from "../../src/view/server.js";
import { launchChromium } from "../report/chromium.js";
import { tempDir } from "../support/cli.js";
import { ROOT } from "../support/paths.js";
import { writeReviewedRuns } from "./fixture.js";

const [out = join(ROOT, "docs/view-screenshot.png")] = process.argv.slice(2);
const file = await writeReviewedRuns(tempDir(), {
  regressed: ["q2", "q3", "q6", "q9"],
  variant: { name: "q4_0", file: "stories260K-q4_0.gguf" },
});
const viewer = await startViewer({
  db: file,
  host: "127.0.0.1",
  port: 0,
  reviewer: "Ada Lovelace",
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  await page.goto(`${viewer.url}runs/1`);
  await page.waitForFunction(() => document.documentElement.dataset.viewReady === "true");
  await page.keyboard.press("a");
  await page.waitForFunction(() =>
    /^1 of/.test(document.getElementById("review-progress")?.textContent ?? ""),
  );
  await page.keyboard.press("n");
  await page.keyboard.insertText("Shorter than the baseline, same meaning.");
  await page.keyboard.press("Escape");
  await page.keyboard.press("u");
  await page.waitForFunction(() =>
    /^2 of/.test(document.getElementById("review-progress")?.textContent ?? ""),
  );
  await page.keyboard.press("k");
  const top = await page.$eval("#review", (e) => e.getBoundingClientRect().top + window.scrollY);
  await page.evaluate((y) => window.scrollTo(0, y - 48), top);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await viewer.close();
}
