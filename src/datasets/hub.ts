import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { splitFiles } from "./layout.js";

export interface HubRequest {
  repo: string;
  config: string | undefined;
  splits: string[];
  cacheDir: string;
  /** The Hub's address, `https://huggingface.co` unless HF_ENDPOINT says otherwise. */
  endpoint: string;
  token: string | undefined;
  timeoutMs: number;
  /** One revision to read; by default `main`, then the Hub's Parquet conversion. */
  revision?: string;
}

/** Where a fetched dataset lies: the cache folder of the revision its files came from. */
export interface HubFetched {
  root: string;
  revision: string;
  files: string[];
}

/** The dataset card, whose YAML front matter may declare the configs' data files. */
const CARD = "README.md";

/** The data files on `main`; datasets kept as a script or in other formats have Parquet here. */
const REVISIONS = ["main", "refs/convert/parquet"];

interface TreeEntry {
  type: string;
  path: string;
  size?: number;
}

/**
 * Fetches the files of a Hub dataset's splits into the cache: the repository's file listing
 * (`/api/datasets/<repo>/tree/<revision>?recursive=true`, paged by its Link header), the split's
 * files chosen by Hugging Face's layouts, each downloaded from `/datasets/<repo>/resolve/…`.
 * A file already in the cache at its listed size is not downloaded again.
 */
export async function fetchHubDataset(request: HubRequest): Promise<HubFetched> {
  const tried: string[] = [];
  for (const revision of request.revision ? [request.revision] : REVISIONS) {
    const tree = await listTree(request, revision);
    if (tree === undefined) {
      tried.push(`${revision}: not found`);
      continue;
    }
    const paths = tree.map((e) => e.path);
    const root = cacheRoot(request.cacheDir, request.repo, revision);
    const sizes = new Map(tree.map((e) => [e.path, e.size]));
    // The dataset card first: its `configs:` (if any) say which files each split is.
    let readme: string | undefined;
    if (sizes.has(CARD)) {
      await download(request, revision, CARD, root, sizes.get(CARD));
      readme = await readFile(join(root, CARD), "utf8");
    }
    const bySplit = request.splits.map((split) => splitFiles(paths, request.config, split, readme));
    const missing = request.splits.filter((_, i) => bySplit[i]?.length === 0);
    if (missing.length > 0) {
      tried.push(`${revision}: no files for split ${missing.join(", ")}`);
      continue;
    }
    const files = [...new Set(bySplit.flat())];
    for (const path of files) await download(request, revision, path, root, sizes.get(path));
    return { root, revision, files };
  }
  throw new Error(`dataset ${request.repo} on ${request.endpoint}: ${tried.join("; ")}`);
}

/** The cache folder of one revision of a dataset (a `/` in a revision becomes `--`). */
export function cacheRoot(cacheDir: string, repo: string, revision: string): string {
  return join(cacheDir, ...repo.split("/"), revision.replace(/\//g, "--"));
}

export const HUB_REVISIONS = REVISIONS;

async function listTree(request: HubRequest, revision: string): Promise<TreeEntry[] | undefined> {
  const entries: TreeEntry[] = [];
  let url: string | undefined =
    `${request.endpoint}/api/datasets/${request.repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
  while (url !== undefined) {
    const response = await get(request, url);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const page = (await response.json()) as unknown;
    if (!Array.isArray(page)) throw new Error(`${url}: the listing is not a JSON array`);
    for (const entry of page as TreeEntry[]) if (entry.type === "file") entries.push(entry);
    url = nextLink(response.headers.get("link"));
  }
  return entries;
}

async function download(
  request: HubRequest,
  revision: string,
  path: string,
  root: string,
  size: number | undefined,
): Promise<void> {
  const target = join(root, ...path.split("/"));
  const have = await stat(target).then(
    (s) => s.size,
    () => undefined,
  );
  if (have !== undefined && (size === undefined || have === size)) return;
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  const url = `${request.endpoint}/datasets/${request.repo}/resolve/${encodeURIComponent(revision)}/${encoded}`;
  const response = await get(request, url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (size !== undefined && bytes.byteLength !== size) {
    throw new Error(`${url}: got ${bytes.byteLength} bytes, the listing says ${size}`);
  }
  await mkdir(dirname(target), { recursive: true });
  // Written beside and renamed, so an interrupted download never looks like a cached file.
  const partial = `${target}.partial-${process.pid}`;
  await writeFile(partial, bytes);
  await rename(partial, target);
}

function get(request: HubRequest, url: string): Promise<Response> {
  const headers: Record<string, string> = { "user-agent": "qbench" };
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  return fetch(url, {
    headers,
    redirect: "follow",
    signal: AbortSignal.timeout(request.timeoutMs),
  });
}

/** The `rel="next"` address of an RFC 8288 Link header, as the Hub pages its listings. */
function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (match) return match[1];
  }
  return undefined;
}
