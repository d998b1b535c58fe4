import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { InputError, messageOf } from "../errors.js";
import { REVIEW_VERDICTS, type ReviewWriter } from "../store/reviews.js";
import { loadViewAssets } from "./assets.js";
import { comparePage, historyPage, type PageContext, runPage, runsPage } from "./pages.js";
import { sameSecret } from "./security.js";

export interface AppOptions extends PageContext {
  writer: ReviewWriter;
  /** Every request must carry it (cookie, `Authorization: Bearer`, or `?token=` once). */
  token: string | undefined;
  /** The Host header values answered (filled in once the port is known). */
  hosts: Set<string>;
}

/** What a POST of a review holds; the output judged is read from the database, never taken from here. */
const ReviewBody = z.strictObject({
  variant: z.string().min(1).max(1000),
  suite: z.string().min(1).max(1000),
  item: z.string().min(1).max(1000),
  verdict: z.enum(REVIEW_VERDICTS),
  note: z.string().max(4000).default(""),
});

const TOKEN_COOKIE = "qbench_view_token";

const runIdOf = (text: string): number | undefined =>
  /^[1-9]\d{0,15}$/.test(text) ? Number(text) : undefined;

/** The viewer's routes: pages by GET, reviews by POST, and nothing else. */
export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  const assets = loadViewAssets();

  app.use("*", async (c, next) => {
    // DNS rebinding: a page of another origin that resolves its name to 127.0.0.1 sends its own Host.
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (!options.hosts.has(host)) {
      return c.text(`refused: Host ${JSON.stringify(host)} is not this viewer's address`, 421);
    }
    c.header("Content-Security-Policy", assets.headerCsp);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cache-Control", "no-store");
    c.header("Cross-Origin-Opener-Policy", "same-origin");
    c.header("Cross-Origin-Resource-Policy", "same-origin");
    if (options.token !== undefined) {
      const bearer = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
      const query = c.req.query("token");
      if (c.req.method === "GET" && sameSecret(query, options.token)) {
        // Once from the URL, then from an HttpOnly cookie: the token leaves the address bar.
        setCookie(c, TOKEN_COOKIE, options.token, {
          httpOnly: true,
          sameSite: "Strict",
          path: "/",
        });
        return c.redirect(c.req.path, 303);
      }
      if (!sameSecret(getCookie(c, TOKEN_COOKIE) ?? bearer, options.token)) {
        return c.text("refused: this viewer requires its token (open the URL it printed)", 401);
      }
    }
    await next();
  });

  app.get("/", (c) => c.html(runsPage(options)));

  app.get("/runs/:id", (c) => {
    const id = runIdOf(c.req.param("id"));
    if (id === undefined || !options.reader.findRun(id)) return c.text("no such run", 404);
    const cap = c.req.query("cap");
    if (cap !== undefined && !/^[1-9]\d{0,5}$/.test(cap))
      return c.text("cap must be a whole number from 1 to 999999", 400);
    return c.html(runPage(options, id, cap === undefined ? undefined : Number(cap)));
  });

  app.get("/compare/:a/:b", (c) => {
    const [a, b] = [runIdOf(c.req.param("a")), runIdOf(c.req.param("b"))];
    if (
      a === undefined ||
      b === undefined ||
      !options.reader.findRun(a) ||
      !options.reader.findRun(b)
    )
      return c.text("no such run", 404);
    return c.html(comparePage(options, a, b));
  });

  app.get("/plans/:plan/history", (c) => c.html(historyPage(options, c.req.param("plan"))));

  app.get("/api/runs/:id/reviews", (c) => {
    const id = runIdOf(c.req.param("id"));
    if (id === undefined || !options.reader.findRun(id))
      return c.json({ error: "no such run" }, 404);
    return c.json({ reviews: options.reader.reviews(id) });
  });

  app.post("/api/runs/:id/reviews", bodyLimit({ maxSize: 64 * 1024 }), async (c) => {
    // A page of another origin cannot set this header without a CORS preflight, which gets no answer.
    if (!sameSecret(c.req.header("x-qbench-csrf"), options.csrf)) {
      return c.json({ error: "refused: missing or wrong CSRF token" }, 403);
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== `http://${c.req.header("host")}`) {
      return c.json({ error: `refused: Origin ${origin} is not this viewer` }, 403);
    }
    if (!(c.req.header("content-type") ?? "").startsWith("application/json")) {
      return c.json({ error: "a review is sent as application/json" }, 415);
    }
    if (!options.reviewer) {
      return c.json(
        {
          error:
            "no reviewer name: restart qbench view with --reviewer NAME (or set git's user.name)",
        },
        400,
      );
    }
    const id = runIdOf(c.req.param("id"));
    if (id === undefined || !options.reader.findRun(id))
      return c.json({ error: "no such run" }, 404);
    let body: z.infer<typeof ReviewBody>;
    try {
      body = ReviewBody.parse(await c.req.json());
    } catch (error) {
      return c.json({ error: `bad review: ${messageOf(error)}` }, 400);
    }
    try {
      const review = options.writer.add({ runId: id, ...body, reviewer: options.reviewer });
      return c.json({ review }, 201);
    } catch (error) {
      if (error instanceof InputError) return c.json({ error: error.message }, 400);
      throw error;
    }
  });

  app.notFound((c) => c.text("not found", 404));
  app.onError((error, c) => c.text(`the viewer failed: ${messageOf(error)}`, 500));
  return app;
}
