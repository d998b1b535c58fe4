import { randomBytes, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { InputError } from "../errors.js";

/** The addresses that reach only this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/**
 * Checks the listening options before anything is opened: any host but a loopback address
 * serves the reviews to the network, so it requires a token (and says so).
 */
export function checkListen(host: string, token: string | undefined): void {
  if (host !== "localhost" && isIP(host.replace(/^\[|\]$/g, "")) === 0) {
    throw new InputError("BAD_USAGE", `--host must be an IP address or localhost, got "${host}"`);
  }
  if (!isLoopback(host) && !token) {
    throw new InputError(
      "BAD_USAGE",
      `--host ${host} serves the database beyond this machine: it requires --token T (every request must then carry it), or bind to 127.0.0.1`,
    );
  }
  if (token !== undefined && token.length < 16) {
    throw new InputError("BAD_USAGE", "--token must be at least 16 characters");
  }
}

/** The Host header values this server answers to, once its port is known (DNS rebinding). */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set([host.includes(":") && !host.startsWith("[") ? `[${host}]` : host]);
  if (isLoopback(host)) for (const n of ["127.0.0.1", "localhost", "[::1]"]) names.add(n);
  return new Set([...names].map((n) => `${n}:${port}`.toLowerCase()));
}

/** A fresh secret for this session (the CSRF token every POST must carry). */
export const newSecret = (): string => randomBytes(24).toString("base64url");

/** Compares secrets in constant time. */
export function sameSecret(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
