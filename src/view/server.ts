import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { serve } from "@hono/node-server";
import { InputError } from "../errors.js";
import { StoreReader } from "../store/reader.js";
import { ReviewWriter } from "../store/reviews.js";
import { createApp } from "./app.js";
import { allowedHosts, checkListen, newSecret } from "./security.js";

export interface ViewerOptions {
  db: string;
  host: string;
  /** 0: any free port. */
  port: number;
  token?: string | undefined;
  reviewer?: string | undefined;
}

export interface Viewer {
  /** The address to open (with the token, when there is one). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves a database's runs and takes reviews until closed. */
export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  checkListen(options.host, options.token);
  const file = resolve(options.db);
  if (!existsSync(file)) {
    throw new InputError("BAD_INPUT", "no such database (run qbench run first)", {
      location: file,
    });
  }
  // The writer first: it brings the schema up to date and keeps the -wal the reader reads in place.
  const writer = ReviewWriter.open(file);
  let reader: StoreReader;
  try {
    reader = StoreReader.open(file);
  } catch (error) {
    writer.close();
    throw error;
  }
  const hosts = new Set<string>();
  const app = createApp({
    reader,
    writer,
    reviewer: options.reviewer,
    csrf: newSecret(),
    db: options.db,
    token: options.token,
    hosts,
  });
  let server: ReturnType<typeof serve>;
  try {
    server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
      const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () =>
        done(s),
      );
      s.once("error", (error) =>
        fail(
          new InputError(
            "BAD_USAGE",
            `cannot listen on ${options.host}:${options.port}: ${error.message}`,
            { cause: error },
          ),
        ),
      );
    });
  } catch (error) {
    reader.close();
    writer.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  for (const h of allowedHosts(options.host, port)) hosts.add(h);
  const shown = options.host.includes(":") ? `[${options.host}]` : options.host;
  const base = `http://${shown}:${port}/`;
  return {
    url: options.token ? `${base}?token=${encodeURIComponent(options.token)}` : base,
    port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => {
          reader.close();
          writer.close();
          done();
        });
        if ("closeAllConnections" in server) server.closeAllConnections();
      }),
  };
}
