import { InputError } from "../errors.js";

/** An http(s) URL given in `flag`; anything else is BAD_USAGE naming the flag, before any request. */
export function checkHttpUrl(flag: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new InputError(
      "BAD_USAGE",
      `${flag}: expected an http:// or https:// URL such as http://127.0.0.1:8080, got "${value}"`,
    );
  }
  return value;
}
