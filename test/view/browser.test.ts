import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startViewer, type Viewer } from "../../src/view/server.js";
import { launchChromium } from "../report/chromium.js";
import { qbench, tempDir } from "../support/cli.js";
import { tablesDigest, writeGatesPlan, writeReviewedRuns } from "./fixture.js";

/** q8_0's outputs on the five regressed items: each must stay text in the review queue. */
const HOSTILE_OUTPUTS = [
  `<script>window.__pwned = "script"; document.title = "pwned"</script>`,
  `</textarea><img src=x onerror="window.__pwned='textarea'">`,
  `" autofocus onfocus="window.__pwned='attr'" x="`,
  `'><svg onload="window.__pwned='svg'">`,
  `</script><iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>{{constructor}}`,
];
const HOSTILE_NOTE = `</textarea><script>window.__pwned='note'</script><b onmouseover="window.__pwned='b'">drifted</b>`;
const REVIEWER = `Ada "<img src=x onerror=window.__pwned='name'>" Test`;
const REGRESSED = ["q1", "q2", "q3", "q4", "q5"];

interface Opened {
  page: Page;
  problems: string[];
  /** Requests to anywhere but the viewer: each is refused. */
  requests: string[];
}

/** A raw HTTP request to the viewer with headers of our choosing (Host included). */
function send(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "GET",
        path: options.path ?? "/",
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
      },
      (res) => {
        let body = "";
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => done({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("error", fail);
    req.end(options.body);
  });
}

describe("qbench view in a real headless Chromium: the review queue, persistence, hostile text, and its security (real runs on stories260K)", () => {
  let browser: Browser;
  let viewer: Viewer;
  let file: string;
  let strictPlan: string;
  let before0: Record<string, string>;
  const contexts: BrowserContext[] = [];

  const open = async (path: string): Promise<Opened> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const origin = new URL(viewer.url).origin;
    const problems: string[] = [];
    const requests: string[] = [];
    await context.route("**/*", (route) => {
      if (new URL(route.request().url()).origin === origin) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(new URL(path, viewer.url).href);
    await page.waitForFunction(() => document.documentElement.dataset.viewReady === "true");
    return { page, problems, requests };
  };

  const progress = (page: Page) => page.textContent("#review-progress");
  const waitProgress = (page: Page, text: string) =>
    page.waitForFunction(
      (t) => document.getElementById("review-progress")?.textContent?.startsWith(t),
      text,
    );

  /** What hostile text could have done: nothing, if all of this is as it was. */
  const inert = (page: Page) =>
    page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
      title: document.title,
      injected: document.querySelectorAll(
        "img, svg, iframe, b, [onerror], [onload], [onfocus], [onmouseover], [autofocus]",
      ).length,
      scripts: document.scripts.length,
    }));

  before(async () => {
    const dir = tempDir();
    file = await writeReviewedRuns(dir, { regressed: REGRESSED, outputs: HOSTILE_OUTPUTS });
    strictPlan = writeGatesPlan(dir, "strict.yaml", [
      "  inconclusive: no-ship",
      "  review: { requireAllRegressions: true }",
    ]);
    viewer = await startViewer({ db: file, host: "127.0.0.1", port: 0, reviewer: REVIEWER });
    before0 = tablesDigest(file);
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await viewer?.close();
  });

  it("a reviewer goes through three regressions with the keyboard; after a reload, and in a second browser context, they are there", async () => {
    const gateBefore = await qbench(["gate", "--db", file, "--plan", strictPlan]);
    assert.equal(gateBefore.exitCode, 1, gateBefore.stdout);
    assert.match(gateBefore.stdout, /review: 5 of 5 regressions not reviewed/);

    const { page, problems, requests } = await open("/runs/1");
    assert.match(
      (await progress(page)) ?? "",
      /^0 of 5 outputs reviewed · 5 regressions not reviewed/,
    );
    assert.equal(await page.textContent("#review-card .item-id"), "q8_0 · cloze · q1");
    await page.keyboard.press("a");
    await waitProgress(page, "1 of 5");
    assert.equal(await page.textContent("#review-card .item-id"), "q8_0 · cloze · q2");
    await page.keyboard.press("n");
    await page.keyboard.insertText(HOSTILE_NOTE);
    await page.keyboard.press("Escape");
    await page.keyboard.press("x");
    await waitProgress(page, "2 of 5");
    await page.keyboard.press("u");
    await waitProgress(page, "3 of 5");

    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.viewReady === "true");
    assert.match(
      (await progress(page)) ?? "",
      /^3 of 5 outputs reviewed · 2 regressions not reviewed/,
    );
    // It opens at the first regression nobody reviewed; K goes back through the three.
    assert.equal(await page.textContent("#review-card .item-id"), "q8_0 · cloze · q4");
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press("k");
      seen.push(
        `${await page.textContent("#review-card .item-id")}: ${await page.textContent("#review-state")}`,
      );
    }
    assert.match(seen[0] ?? "", /^q8_0 · cloze · q3: Reviewed: unsure by Ada /);
    assert.match(
      seen[1] ?? "",
      /^q8_0 · cloze · q2: Reviewed: not acceptable by Ada .*— “<\/textarea><script>/,
    );
    assert.match(
      seen[2] ?? "",
      /^q8_0 · cloze · q1: Reviewed: acceptable by Ada "<img src=x onerror=window.__pwned='name'>" Test, /,
    );

    const second = await open("/runs/1");
    assert.match((await progress(second.page)) ?? "", /^3 of 5 outputs reviewed/);
    await second.page.keyboard.press("k");
    await second.page.keyboard.press("k");
    assert.equal(await second.page.textContent("#review-card .item-id"), "q8_0 · cloze · q2");
    assert.equal(await second.page.inputValue("#review-note"), HOSTILE_NOTE);
    assert.match((await second.page.textContent("#review-state")) ?? "", /not acceptable/);
    for (const opened of [{ page, problems, requests }, second]) {
      assert.deepEqual([opened.problems, opened.requests], [[], []]);
      assert.deepEqual(await inert(opened.page), {
        pwned: null,
        title: "qbench · test-plan · run 1",
        injected: 0,
        scripts: 2,
      });
    }

    // The two left (J back to q4), then the gate that requires every regression reviewed lets q8_0 ship.
    for (let i = 0; i < 3; i++) await page.keyboard.press("j");
    assert.equal(await page.textContent("#review-card .item-id"), "q8_0 · cloze · q4");
    await page.keyboard.press("a");
    await waitProgress(page, "4 of 5");
    await page.keyboard.press("a");
    await waitProgress(page, "5 of 5");
    const gateAfter = await qbench(["gate", "--db", file, "--plan", strictPlan]);
    assert.equal(gateAfter.exitCode, 0, gateAfter.stdout);
    assert.match(gateAfter.stdout, /review: all 5 regressions reviewed/);
    // The run's page decides as the gate does: the verdict table shows the review gate passing.
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.viewReady === "true");
    assert.match(await page.innerText("#review-counts"), /Disagreeing outputs reviewed: 5/);
  });

  it("every hostile output is shown as the text it is, in the queue and in the disagreement list", async () => {
    const { page, problems, requests } = await open("/runs/1");
    await page.keyboard.press("k");
    while ((await page.textContent("#review-card .item-id")) !== "q8_0 · cloze · q1")
      await page.keyboard.press("k");
    const shown: string[] = [];
    for (let i = 0; i < REGRESSED.length; i++) {
      shown.push((await page.textContent("#review-output")) ?? "");
      await page.keyboard.press("j");
    }
    assert.deepEqual(shown, HOSTILE_OUTPUTS);
    const listed = await page.$$eval("#dis-list pre", (pres) =>
      pres.map((p) => p.textContent ?? ""),
    );
    for (const text of HOSTILE_OUTPUTS) assert.ok(listed.includes(text), `listed as text: ${text}`);
    await page.hover("#review-card");
    assert.deepEqual([problems, requests], [[], []]);
    assert.deepEqual(await inert(page), {
      pwned: null,
      title: "qbench · test-plan · run 1",
      injected: 0,
      scripts: 2,
    });
  });

  it("refuses a POST without the session's CSRF token, from another origin, or not JSON; and any request with a foreign Host header", async () => {
    const port = viewer.port;
    const review = JSON.stringify({
      variant: "q8_0",
      suite: "cloze",
      item: "q1",
      verdict: "unsure",
    });
    const json = { "content-type": "application/json" };
    const { page } = await open("/runs/1");
    const csrf = await page.evaluate(
      () =>
        JSON.parse(document.getElementById("qbench-data")?.textContent ?? "{}").view.csrf as string,
    );
    const post = (headers: Record<string, string>, body = review) =>
      send(port, { method: "POST", path: "/api/runs/1/reviews", headers, body });
    assert.equal((await post(json)).status, 403);
    assert.equal((await post({ ...json, "x-qbench-csrf": "not-the-token" })).status, 403);
    assert.equal(
      (await post({ ...json, "x-qbench-csrf": csrf, origin: "http://evil.example" })).status,
      403,
    );
    assert.equal((await post({ "content-type": "text/plain", "x-qbench-csrf": csrf })).status, 415);
    const foreign = await send(port, { headers: { host: "evil.example" } });
    assert.deepEqual(
      [foreign.status, foreign.body],
      [421, 'refused: Host "evil.example" is not this viewer\'s address'],
    );
    assert.equal((await send(port, { headers: { host: `127.0.0.1:${port + 1}` } })).status, 421);
    assert.equal(
      (await post({ ...json, "x-qbench-csrf": csrf, host: `rebound.example:${port}` })).status,
      421,
    );
    const page1 = await send(port, { path: "/runs/1" });
    assert.equal(page1.status, 200);
    assert.match(String(page1.headers["content-security-policy"]), /frame-ancestors 'none'/);
    assert.equal(page1.headers["x-frame-options"], "DENY");

    // A page of another origin on this machine cannot write a review either.
    const evil: Server = createServer((_, res) => res.end("<!doctype html><title>evil</title>"));
    await new Promise<void>((done) => evil.listen(0, "127.0.0.1", done));
    try {
      const evilPort = (evil.address() as AddressInfo).port;
      const context = await browser.newContext();
      contexts.push(context);
      const other = await context.newPage();
      await other.goto(`http://127.0.0.1:${evilPort}/`);
      const outcome = await other.evaluate(
        async ({ url, body, token }) => {
          const results: string[] = [];
          for (const init of [
            { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body },
            {
              method: "POST",
              headers: { "content-type": "application/json", "x-qbench-csrf": token },
              body,
            },
          ] as RequestInit[]) {
            try {
              const r = await fetch(url, init);
              results.push(`${r.type} ${r.status}`);
            } catch (e) {
              results.push(`refused: ${(e as Error).name}`);
            }
          }
          return results;
        },
        { url: `${viewer.url}api/runs/1/reviews`, body: review, token: csrf },
      );
      // The first reaches the viewer and is refused (no token); its Cross-Origin-Resource-Policy
      // keeps even the opaque answer from the page. The second gets no answer to its preflight.
      assert.deepEqual(outcome, ["refused: TypeError", "refused: TypeError"]);
    } finally {
      evil.close();
    }
    const stored = JSON.parse((await send(port, { path: "/api/runs/1/reviews" })).body) as {
      reviews: Array<{ item: string; verdict: string }>;
    };
    assert.equal(stored.reviews.length, 5, "no refused request wrote a review");
    assert.equal(stored.reviews.find((r) => r.item === "q1")?.verdict, "acceptable");
  });

  it("a page that holds fewer disagreeing items than there are says so, and links to one that holds them all", async () => {
    const { page, problems } = await open("/runs/1?cap=2");
    assert.match((await progress(page)) ?? "", /^2 of 2 outputs reviewed/);
    assert.equal(
      await page.textContent("#review .note"),
      "This page holds 2 of the 5 disagreeing items of cloze (the report's cap per suite). Open the run with all of them",
    );
    await page.click("#review .note a");
    await page.waitForFunction(() => document.documentElement.dataset.viewReady === "true");
    assert.equal(new URL(page.url()).search, "?cap=5");
    assert.match((await progress(page)) ?? "", /^5 of 5 outputs reviewed/);
    assert.deepEqual(problems, []);
    assert.equal((await send(viewer.port, { path: "/runs/1?cap=x" })).status, 400);
  });

  it("the run list, a comparison and a plan's history open without a problem and show the commands' figures", async () => {
    const list = await open("/");
    const row = await list.page.innerText(".run-list tbody tr");
    assert.match(
      row,
      /^1\s+test-plan\s+\d{4}-\d\d-\d\d [\d:]+ UTC\s+complete\s+fp16 SHIP\s+q8_0 SHIP\s+5 reviewed/,
    );
    await list.page.click(".run-list tbody tr a[href='/plans/test-plan/history']");
    await list.page.waitForFunction(() => document.documentElement.dataset.viewReady === "true");
    assert.match(
      await list.page.innerText(".history-table"),
      /q8_0\s+cloze\s+exact_match\s+0\.5000/,
    );
    const compare = await open("/compare/1/1");
    assert.match(
      (
        await compare.page.$$eval(".compare-table", (t) =>
          t.map((e) => (e as HTMLElement).innerText),
        )
      ).join("\n"),
      /cloze\s+exact_match\s+0\.5000\s+0\.5000\s+\+0\.0000\s+\[\+0\.0000, \+0\.0000\]\s+10\s+same/,
    );
    for (const opened of [list, compare])
      assert.deepEqual([opened.problems, opened.requests], [[], []]);
  });

  it("wrote nothing to the database but reviews", () => {
    assert.deepEqual(tablesDigest(file), before0);
  });

  it("off loopback it requires a token; with one, every request carries it (once in the URL, then a cookie)", async () => {
    const refused = await qbench(["view", "--db", file, "--host", "0.0.0.0", "--port", "0"]);
    assert.equal(refused.exitCode, 2);
    assert.match(
      refused.stderr,
      /--host 0\.0\.0\.0 serves the database beyond this machine: it requires --token T/,
    );
    const token = "a-long-enough-secret-token";
    const guarded = await startViewer({
      db: file,
      host: "127.0.0.1",
      port: 0,
      token,
      reviewer: "Ada",
    });
    try {
      assert.equal((await send(guarded.port, {})).status, 401);
      assert.equal(
        (await send(guarded.port, { headers: { authorization: "Bearer wrong" } })).status,
        401,
      );
      assert.equal(
        (await send(guarded.port, { headers: { authorization: `Bearer ${token}` } })).status,
        200,
      );
      const first = await send(guarded.port, { path: `/runs/1?token=${token}` });
      assert.equal(first.status, 303);
      assert.equal(first.headers.location, "/runs/1");
      const cookie = String((first.headers["set-cookie"] as string[])[0]).split(";")[0] ?? "";
      assert.match(
        String((first.headers["set-cookie"] as string[])[0]),
        /HttpOnly; SameSite=Strict/,
      );
      assert.equal(
        (await send(guarded.port, { path: "/runs/1", headers: { cookie } })).status,
        200,
      );
      assert.equal(guarded.url, `http://127.0.0.1:${guarded.port}/?token=${token}`);
    } finally {
      await guarded.close();
    }
  });
});
