/**
 * RFC 4180 CSV: quoted fields with "" for a quote, CRLF or LF rows, a header row of names.
 * Returns the header and each record with the line it starts on.
 */
export function parseCsv(text: string): {
  header: string[];
  records: Array<{ fields: string[]; line: number }>;
} {
  const rows: Array<{ fields: string[]; line: number }> = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let i = 0;
  const endField = () => {
    fields.push(field);
    field = "";
  };
  const endRow = () => {
    endField();
    if (!(fields.length === 1 && fields[0] === "")) rows.push({ fields, line: start });
    fields = [];
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === ",") endField();
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      start = line;
    } else field += c;
    i++;
  }
  if (quoted) throw new Error(`a quoted field opened on line ${start} is never closed`);
  if (field !== "" || fields.length > 0) endRow();
  const [head, ...records] = rows;
  return { header: head?.fields ?? [], records };
}

const INTEGER = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * A column's values typed as pandas' read_csv infers them (what Hugging Face's csv loader
 * uses): all integers → numbers, all numeric → numbers, "True"/"False" → booleans, else text;
 * an empty cell in a numeric column is null (pandas: NaN).
 */
export function typeColumn(values: readonly string[]): unknown[] {
  const present = values.filter((v) => v !== "");
  if (present.length > 0 && present.every((v) => INTEGER.test(v) || FLOAT.test(v))) {
    return values.map((v) => (v === "" ? null : Number(v)));
  }
  if (present.length > 0 && present.every((v) => v === "True" || v === "False")) {
    return values.map((v) => (v === "" ? null : v === "True"));
  }
  return [...values];
}
