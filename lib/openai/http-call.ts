/**
 * One HTTP call to a model server: per-attempt timeout, retries with exponential backoff on
 * 429 / 503 only, and every failure turned into an HttpCallError with a stable code.
 */

export type HttpErrorCode =
  | "SERVER_ERROR"
  | "CONNECTION_LOST"
  | "REQUEST_TIMEOUT"
  | "UNSUPPORTED"
  | "BAD_PARAMS";

export class HttpCallError extends Error {
  readonly code: HttpErrorCode;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;

  constructor(
    code: HttpErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "HttpCallError";
    this.code = code;
    this.status = options.status;
  }
}

export interface Endpoint {
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`; read from the environment, never stored. */
  apiKey: string | undefined;
  timeoutMs: number;
  /** Retries after a 429 or 503 answer; 0 = none. */
  retries: number;
  retryBaseMs: number;
}

export interface CallOptions {
  method?: "GET" | "POST";
  body?: unknown;
  /** Aborts the call (e.g. the load sweep's deadline) besides the per-attempt timeout. */
  signal?: AbortSignal;
}

/** Retry-After in seconds or an HTTP date, when the server sends one. */
function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get("retry-after");
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Each resend drops one dead pooled connection; a few cover a pool gone stale at once. */
const STALE_RESENDS = 3;

function closedBeforeAnswer(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET";
}

/** Short text of an error body, for messages: servers put the reason there. */
async function errorText(response: Response): Promise<string> {
  try {
    const text = (await response.text()).trim();
    try {
      const parsed = JSON.parse(text) as {
        error?: { message?: string } | string;
        message?: string;
        detail?: string;
      };
      const inner =
        typeof parsed.error === "string"
          ? parsed.error
          : (parsed.error?.message ?? parsed.message ?? parsed.detail);
      if (inner) return String(inner).slice(0, 500);
    } catch {
      // not JSON: keep the raw text
    }
    return text.slice(0, 500);
  } catch {
    return "";
  }
}

/** Maps a thrown fetch or stream error to a stable code: our timeout, an abort, or a lost connection. */
export function classifyFailure(
  error: unknown,
  url: string,
  timeoutMs: number,
  what: string,
): HttpCallError {
  if (error instanceof HttpCallError) return error;
  const name = (error as { name?: string } | undefined)?.name;
  if (name === "TimeoutError") {
    return new HttpCallError(
      "REQUEST_TIMEOUT",
      `${url}: not finished within ${timeoutMs} ms (${what})`,
      {
        cause: error,
      },
    );
  }
  if (name === "AbortError") {
    return new HttpCallError("REQUEST_TIMEOUT", `${url}: aborted ${what}`, { cause: error });
  }
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const detail =
    cause?.code ?? cause?.message ?? (error as Error | undefined)?.message ?? String(error);
  return new HttpCallError(
    "CONNECTION_LOST",
    `${url}: connection failed or dropped ${what} (${detail})`,
    {
      cause: error,
    },
  );
}

/**
 * Sends one request and returns the response once its status is 2xx. 429 and 503 are retried
 * (honouring Retry-After, capped at 30 s); any other status fails at once with SERVER_ERROR.
 * The caller reads the body under the same `signal`, so the timeout covers streaming too.
 */
export async function call(
  endpoint: Endpoint,
  path: string,
  options: CallOptions,
  signal: AbortSignal,
): Promise<Response> {
  const url = `${endpoint.baseUrl}${path}`;
  const headers: Record<string, string> = { accept: "application/json, text/event-stream" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (endpoint.apiKey) headers.authorization = `Bearer ${endpoint.apiKey}`;
  let resends = 0;
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method ?? (options.body === undefined ? "GET" : "POST"),
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal,
      });
    } catch (error) {
      // A kept-alive connection the server closed without saying so (llama-server does) fails
      // before any answer: the request never ran, so it is sent again, on another connection.
      if (resends < STALE_RESENDS && closedBeforeAnswer(error) && !signal.aborted) {
        resends++;
        attempt--;
        continue;
      }
      throw classifyFailure(error, url, endpoint.timeoutMs, "before an answer");
    }
    if (response.ok) return response;
    const retryable = response.status === 429 || response.status === 503;
    if (retryable && attempt < endpoint.retries) {
      const backoff = endpoint.retryBaseMs * 2 ** attempt;
      const wait = Math.min(retryAfterMs(response) ?? backoff, 30_000);
      await response.body?.cancel();
      try {
        await sleep(wait, signal);
      } catch (error) {
        throw classifyFailure(error, url, endpoint.timeoutMs, "while waiting to retry");
      }
      continue;
    }
    const text = await errorText(response);
    const tries = attempt > 0 ? ` after ${attempt + 1} attempts` : "";
    throw new HttpCallError(
      "SERVER_ERROR",
      `${url} answered ${response.status}${tries}${text ? `: ${text}` : ""}`,
      { status: response.status },
    );
  }
}

/** One request's deadline (retries and streaming included), or `outer`'s abort if sooner. */
export function requestSignal(timeoutMs: number, outer?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return outer ? AbortSignal.any([timeout, outer]) : timeout;
}

/** GET or POST returning parsed JSON, with the endpoint's timeout and retries. */
export async function callJson<T>(
  endpoint: Endpoint,
  path: string,
  options: CallOptions = {},
): Promise<T> {
  const signal = requestSignal(endpoint.timeoutMs, options.signal);
  const response = await call(endpoint, path, options, signal);
  try {
    return (await response.json()) as T;
  } catch (error) {
    if ((error as { name?: string }).name === "SyntaxError") {
      throw new HttpCallError("SERVER_ERROR", `${endpoint.baseUrl}${path} did not answer JSON`, {
        cause: error,
      });
    }
    throw classifyFailure(
      error,
      `${endpoint.baseUrl}${path}`,
      endpoint.timeoutMs,
      "while reading the answer",
    );
  }
}
