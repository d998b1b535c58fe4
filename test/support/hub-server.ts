import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

/**
 * A loopback stand-in for the Hugging Face Hub (the Hub itself cannot be reached from tests):
 * serves `<root>/<owner>/<name>/<revision>/…` through the Hub's routes — the recursive tree
 * listing, paged by a Link header, and `resolve`, which redirects to a file URL as the Hub
 * redirects LFS files to its CDN. `requests` keeps every path asked, so tests can count them.
 */
export interface HubServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

const PAGE = 2;

/**
 * Starts the stand-in on a worker thread: loading a suite waits on its own worker synchronously,
 * which would starve a server on this thread's event loop.
 */
export async function startHubServer(root: string): Promise<HubServer> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { root } });
  const requests: string[] = [];
  const url = await new Promise<string>((ready, fail) => {
    worker.once("error", fail);
    worker.on("message", (m: { url?: string; request?: string }) => {
      if (m.url) ready(m.url);
      if (m.request) requests.push(m.request);
    });
  });
  return { url, requests, close: () => worker.terminate().then(() => undefined) };
}

if (!isMainThread && parentPort && (workerData as { root?: string })?.root) {
  const port = parentPort;
  void serve((workerData as { root: string }).root).then((hub) => {
    port.postMessage({ url: hub.url });
    hub.onRequest = (path) => port.postMessage({ request: path });
  });
}

async function serve(root: string): Promise<{ url: string; onRequest: (path: string) => void }> {
  const hub = { url: "", onRequest: (_path: string) => {} };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    hub.onRequest(url.pathname);
    const tree = /^\/api\/datasets\/([^/]+)\/([^/]+)\/tree\/([^/?]+)$/.exec(url.pathname);
    if (tree) {
      const [, owner, name, rev] = tree as unknown as [string, string, string, string];
      const dir = join(root, owner, name, decodeURIComponent(rev).replace(/\//g, "--"));
      let files: string[];
      try {
        files = walk(dir, "");
      } catch {
        res
          .writeHead(404, { "content-type": "application/json" })
          .end('{"error":"Revision not found"}');
        return;
      }
      const cursor = Number(url.searchParams.get("cursor") ?? 0);
      const page = files.slice(cursor, cursor + PAGE).map((path) => ({
        type: "file",
        path,
        size: statSync(join(dir, path)).size,
        oid: "0",
      }));
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (cursor + PAGE < files.length) {
        const next = new URL(url);
        next.searchParams.set("cursor", String(cursor + PAGE));
        next.host = req.headers.host ?? next.host;
        headers.link = `<${next.toString()}>; rel="next"`;
      }
      res.writeHead(200, headers).end(JSON.stringify(page));
      return;
    }
    const resolve = /^\/datasets\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve) {
      const [, owner, name, rev, path] = resolve as unknown as [
        string,
        string,
        string,
        string,
        string,
      ];
      const target = `/cdn/${owner}/${name}/${rev}/${path}`;
      res.writeHead(302, { location: target }).end();
      return;
    }
    const cdn = /^\/cdn\/([^/]+)\/([^/]+)\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (cdn) {
      const [, owner, name, rev, path] = cdn as unknown as [string, string, string, string, string];
      const file = join(
        root,
        owner,
        name,
        decodeURIComponent(rev).replace(/\//g, "--"),
        ...path.split("/").map(decodeURIComponent),
      );
      try {
        const body = readFileSync(file);
        res.writeHead(200, { "content-length": body.length }).end(body);
      } catch {
        res.writeHead(404).end("Entry not found");
      }
      return;
    }
    res.writeHead(404).end("not found");
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  hub.url = `http://127.0.0.1:${port}`;
  return hub;
}

function walk(dir: string, prefix: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? walk(join(dir, entry.name), rel) : [rel];
    });
}
