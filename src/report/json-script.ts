/**
 * JSON that is safe inside an HTML `<script type="application/json">` element, whatever strings
 * it holds (model outputs included): `<` is escaped, so neither `</script` nor `<!--` can occur,
 * and `>`, `&`, U+2028 and U+2029 too. Every escape is a JSON `\u` escape, so JSON.parse of the
 * element's text gives back exactly the original value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
