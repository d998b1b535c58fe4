/** The http runner's settings, read once from `load`'s `model` and `options`. */

import type { Endpoint } from "../../lib/openai/http-call.js";
import type { LoadParams } from "../../src/runner-client/protocol.js";
import { SERVER_KINDS, type ServerKind } from "./server-kind.js";

export interface HttpSettings {
  endpoint: Endpoint;
  /** The server's model name; undefined = the first one /v1/models lists. */
  model: string | undefined;
  chat: boolean;
  /** Requests in flight at once when qbench sends several. */
  concurrency: number;
  server: ServerKind | undefined;
  extraBody: Record<string, unknown>;
}

export class SettingsError extends Error {}

const KNOWN = [
  "baseUrl",
  "apiKeyEnv",
  "chat",
  "timeoutSeconds",
  "concurrency",
  "retries",
  "retryBaseMs",
  "server",
  "extraBody",
];

function positive(
  options: Record<string, unknown>,
  key: string,
  fallback: number,
  integer: boolean,
): number {
  const value = options[key] ?? fallback;
  if (typeof value !== "number" || !(value > 0) || (integer && !Number.isInteger(value))) {
    throw new SettingsError(
      `options.${key} must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** A base URL without a trailing slash or `/v1`: paths are appended as `/v1/…`, `/tokenize`. */
export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingsError(`not a URL: ${raw}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SettingsError(`only http(s) URLs are supported, got ${raw}`);
  }
  return url.href.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/**
 * `model` is the server's model name, or a URL (then the server's first model is used);
 * `options`: baseUrl, apiKeyEnv (the name of an environment variable, never the key itself),
 * chat, timeoutSeconds, concurrency, retries, retryBaseMs, server, extraBody.
 */
export function readSettings(params: LoadParams, env: NodeJS.ProcessEnv): HttpSettings {
  const options = params.options ?? {};
  const unknown = Object.keys(options).filter((k) => !KNOWN.includes(k));
  if (unknown.length > 0) {
    throw new SettingsError(`unknown option(s) ${unknown.join(", ")} (known: ${KNOWN.join(", ")})`);
  }
  const modelIsUrl = /^https?:\/\//.test(params.model);
  const rawUrl =
    typeof options.baseUrl === "string" ? options.baseUrl : modelIsUrl ? params.model : undefined;
  if (rawUrl === undefined) {
    throw new SettingsError("options.baseUrl is required (or give the server's URL as the model)");
  }
  let apiKey: string | undefined;
  if (options.apiKeyEnv !== undefined) {
    if (typeof options.apiKeyEnv !== "string" || options.apiKeyEnv === "") {
      throw new SettingsError("options.apiKeyEnv must name an environment variable");
    }
    apiKey = env[options.apiKeyEnv];
    if (!apiKey) throw new SettingsError(`environment variable ${options.apiKeyEnv} is not set`);
  }
  const server = options.server;
  if (server !== undefined && !SERVER_KINDS.includes(server as ServerKind)) {
    throw new SettingsError(
      `options.server must be one of ${SERVER_KINDS.join(", ")}, got ${JSON.stringify(server)}`,
    );
  }
  const extraBody = options.extraBody ?? {};
  if (typeof extraBody !== "object" || extraBody === null || Array.isArray(extraBody)) {
    throw new SettingsError("options.extraBody must be an object");
  }
  const retries = options.retries ?? 4;
  if (typeof retries !== "number" || !Number.isInteger(retries) || retries < 0) {
    throw new SettingsError(
      `options.retries must be an integer ≥ 0, got ${JSON.stringify(retries)}`,
    );
  }
  if (options.chat !== undefined && typeof options.chat !== "boolean") {
    throw new SettingsError("options.chat must be true or false");
  }
  const model =
    modelIsUrl || params.model === "" || params.model === "auto" ? undefined : params.model;
  return {
    endpoint: {
      baseUrl: normalizeBaseUrl(rawUrl),
      apiKey,
      timeoutMs: positive(options, "timeoutSeconds", 120, false) * 1000,
      retries,
      retryBaseMs: positive(options, "retryBaseMs", 500, false),
    },
    model,
    chat: options.chat === true,
    concurrency: positive(options, "concurrency", 1, true),
    server: server as ServerKind | undefined,
    extraBody: extraBody as Record<string, unknown>,
  };
}
