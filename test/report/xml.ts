/**
 * A small strict XML parser for checking the JUnit output: well-formedness as XML 1.0 defines it
 * for what JUnit files use (declaration, elements, attributes, text, character references, the
 * five predefined entities). Anything else — an unescaped `<` or `&`, a mismatched or unclosed
 * tag, a duplicate attribute, a second root, a character XML forbids — throws.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  if (/<|&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(raw))
    throw new Error(`unescaped < or & in ${where}: ${raw.slice(0, 60)}`);
  for (const ch of raw) {
    const c = ch.codePointAt(0) ?? 0;
    const ok =
      c === 9 || c === 10 || c === 13 || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd);
    if (!ok && c < 0x10000) throw new Error(`character U+${c.toString(16)} not allowed in XML`);
  }
  return raw.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (_, ref: string) =>
    ref.startsWith("#x")
      ? String.fromCodePoint(Number.parseInt(ref.slice(2), 16))
      : ref.startsWith("#")
        ? String.fromCodePoint(Number(ref.slice(1)))
        : (ENTITIES[ref] ?? ""),
  );
}

export function parseXml(source: string): XmlElement {
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${at}: ${JSON.stringify(source.slice(at, at + 40))}`);
  };
  const skipSpace = () => {
    while (/\s/.test(source[at] ?? "")) at++;
  };
  if (source.startsWith("<?xml")) {
    const end = source.indexOf("?>");
    if (end < 0) fail("unterminated declaration");
    at = end + 2;
  }
  const parseElement = (): XmlElement => {
    if (source[at] !== "<") fail("expected <");
    at++;
    const name = NAME.exec(source.slice(at))?.[0] ?? fail("expected a tag name");
    at += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (source.startsWith("/>", at)) {
        at += 2;
        return { name, attributes, children: [], text: "" };
      }
      if (source[at] === ">") {
        at++;
        break;
      }
      const attr = NAME.exec(source.slice(at))?.[0] ?? fail("expected an attribute");
      at += attr.length;
      skipSpace();
      if (source[at] !== "=") fail("expected =");
      at++;
      skipSpace();
      const quote = source[at];
      if (quote !== '"' && quote !== "'") fail("expected a quoted value");
      const end = source.indexOf(quote as string, at + 1);
      if (end < 0) fail("unterminated attribute");
      if (attr in attributes) fail(`duplicate attribute ${attr}`);
      attributes[attr] = decode(source.slice(at + 1, end), `attribute ${attr}`);
      at = end + 1;
    }
    const children: XmlElement[] = [];
    let text = "";
    for (;;) {
      const next = source.indexOf("<", at);
      if (next < 0) fail(`unclosed <${name}>`);
      text += decode(source.slice(at, next), `<${name}>`);
      at = next;
      if (source.startsWith(`</${name}`, at)) {
        at += name.length + 2;
        skipSpace();
        if (source[at] !== ">") fail("expected >");
        at++;
        return { name, attributes, children, text };
      }
      if (source.startsWith("</", at)) fail(`mismatched closing tag inside <${name}>`);
      children.push(parseElement());
    }
  };
  skipSpace();
  const root = parseElement();
  skipSpace();
  if (at !== source.length) fail("content after the root element");
  return root;
}
