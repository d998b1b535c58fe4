/** Model outputs written to attack the report: each must stay inert text wherever it is shown. */
export const HOSTILE = [
  `<script>window.__pwned = "script"; document.title = "pwned"</script>`,
  `</script><img src=x onerror="window.__pwned='img';document.title='pwned'">`,
  `<!--<script>window.__pwned = "comment"</script>-->`,
  `" onmouseover="window.__pwned='attr'" data-x="`,
  `'><svg onload="window.__pwned='svg'">`,
  "{{constructor}} {{#each this}}{{this}}{{/each}} {{{raw}}}",
  `line\u2028separator\u2029paragraph </SCRIPT ><iframe srcdoc="<script>parent.__pwned=1</script>">`,
  "\u202Eevil reversed\u202C שלום עולם مرحبا بالعالم",
  `${"A".repeat(30_000)}<img src=x onerror="window.__pwned='long'">`,
];

/** Bytes that are not UTF-8 (a lone 0xFF, a truncated sequence), as stored by a careless runner. */
export const INVALID_UTF8_HEX = "48656cff6c6fc328e282";
