#!/usr/bin/env node
// Writes test/fixtures/fuzz/: malformed plans and suites that must each exit 2 with one line
// naming a file and a line (test/fuzz/corpus.test.ts runs them). Deterministic: no randomness,
// the same script writes the same bytes. Run: node scripts/make-fuzz-corpus.mjs [OUT_DIR]
//
// Layout (plans and suites refer to each other by relative path; the test supplies ../model.gguf):
//   valid/           a valid plan, suite, items and prompt the cases are made from
//   plans/NNN-*.yaml malformed plans (their suites and model are the valid ones)
//   suites/NNN-*     malformed suites (a .yaml, and sometimes its own .jsonl or prompt)
//   valid-variants/  valid files in unusual but legal encodings (BOM, CRLF): these must load
//   manifest.json    every case: kind, file, the files its error may name, what it breaks
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// An optional argument writes elsewhere (the test regenerates into a temp folder to check the committed copy).
const ROOT =
  process.argv[2] ??
  join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures", "fuzz");

const VALID_PLAN = `name: fuzz
variants:
  - name: base
    model: ../model.gguf
    precision: fp16
  - name: q
    model: ../model.gguf
    precision: int8
suites:
  - ../valid/suite.yaml
backend: cpu
contextSize: 256
threads: 1
seed: 42
warmup: 0
repeats: 1
generation: { maxTokens: 4, temperature: 0 }
timeouts: { loadSeconds: 60, itemSeconds: 30 }
gates:
  quality: { minRatio: 0.9 }
  metrics:
    - { metric: exact_match, minRatio: 0.5 }
`;

const VALID_SUITE = `id: fuzz
description: a valid suite the fuzz cases break
prompt: ../valid/prompt.txt
fields: [question, answer]
target: answer
metrics:
  - exact_match: { ignore_case: true, regex: "(\\\\w+)" }
  - rouge: { types: [rouge1, rougeL] }
generation: { maxTokens: 4 }
data: ../valid/items.jsonl
`;

const VALID_ITEMS = [
  { id: "a", question: "Once upon a time", answer: "there" },
  { id: "b", question: "One day, Lily", answer: "went" },
  { id: "c", question: "The little dog", answer: "was" },
]
  .map((item) => JSON.stringify(item))
  .join("\n");

const VALID_PROMPT = "Q: {{question}}\nA:\n";

const cases = [];
let counter = 0;

/** One case: `files` (name → text or bytes) under `kind`s folder; the first file is the one run. */
function add(kind, label, files, blame) {
  counter += 1;
  const stem = `${String(counter).padStart(3, "0")}-${label
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 48)}`;
  const folder = kind === "plan" ? "plans" : "suites";
  const written = Object.entries(files).map(([suffix, content]) => {
    const name = suffix.startsWith(".") ? `${stem}${suffix}` : suffix.replace("$", stem);
    writeFileSync(
      join(ROOT, folder, name),
      typeof content === "string" ? content.replaceAll("$STEM", stem) : content,
    );
    return `${folder}/${name}`;
  });
  const main = written[0];
  // The error may name the case's own files; a plan case may also name nothing else.
  cases.push({
    kind,
    label,
    file: main,
    blame: blame?.map((b) => b.replaceAll("$STEM", stem)) ?? written,
  });
}

const plan = (label, text, blame) => add("plan", label, { ".yaml": text }, blame);
/** A suite case: its header, and optionally its own items (`$.jsonl`) or prompt (`$.txt`). */
const suite = (label, text, extra = {}, blame = undefined) =>
  add("suite", label, { ".yaml": text, ...extra }, blame);

const lines = (text) => text.split("\n");
const replaceLine = (text, key, replacement) =>
  text.replace(new RegExp(`^${key}:.*$`, "m"), replacement);

function writeValid() {
  for (const dir of ["valid", "plans", "suites", "valid-variants"])
    mkdirSync(join(ROOT, dir), { recursive: true });
  writeFileSync(join(ROOT, "valid", "plan.yaml"), VALID_PLAN.replaceAll("../valid/", ""));
  writeFileSync(join(ROOT, "valid", "suite.yaml"), VALID_SUITE.replaceAll("../valid/", ""));
  writeFileSync(join(ROOT, "valid", "items.jsonl"), `${VALID_ITEMS}\n`);
  writeFileSync(join(ROOT, "valid", "prompt.txt"), VALID_PROMPT);
  // Legal encodings: a BOM, CRLF line ends, both. They must load like the originals.
  const variants = {
    "bom-plan.yaml": `\uFEFF${VALID_PLAN}`,
    "crlf-plan.yaml": VALID_PLAN.replaceAll("\n", "\r\n"),
    "bom-crlf-suite.yaml": `\uFEFF${VALID_SUITE.replaceAll("\n", "\r\n").replace("../valid/items.jsonl", "bom-crlf-items.jsonl").replace("../valid/prompt.txt", "crlf-prompt.txt")}`,
    "bom-crlf-items.jsonl": `\uFEFF${VALID_ITEMS.replaceAll("\n", "\r\n")}\r\n`,
    "crlf-prompt.txt": VALID_PROMPT.replaceAll("\n", "\r\n"),
  };
  for (const [name, text] of Object.entries(variants)) {
    writeFileSync(
      join(ROOT, "valid-variants", name),
      text.replaceAll("../valid/suite.yaml", "bom-crlf-suite.yaml"),
    );
  }
}

function planCases() {
  const planLines = lines(VALID_PLAN);
  // Truncations: every prefix that stops before the suites are listed lacks a required key…
  const suitesAt = planLines.findIndex((l) => l.startsWith("  - ../valid"));
  for (let n = 0; n <= suitesAt; n++)
    plan(`truncated after ${n} lines`, planLines.slice(0, n).join("\n"));
  // …and a cut in the middle of any key leaves a key without its value.
  planLines.forEach((line, i) => {
    const colon = line.indexOf(":");
    if (colon < 2 || line.trimStart().startsWith("- {")) return;
    const cut = Math.ceil((line.indexOf(line.trimStart()) + colon) / 2) + 1;
    if (line.slice(0, cut).trim() === "-") return;
    plan(
      `cut mid key on line ${i + 1}`,
      `${planLines.slice(0, i).join("\n")}\n${line.slice(0, cut)}`,
    );
  });
  // Mid-flow-mapping cuts: an unterminated { … }.
  for (const key of ["generation", "timeouts"]) {
    const text = VALID_PLAN.slice(0, VALID_PLAN.indexOf(`${key}: {`) + key.length + 6);
    plan(`unterminated flow map in ${key}`, text);
  }
  // Wrong types for every top-level setting.
  const wrong = { string: '"many"', list: "[1, 2]", map: "{ a: 1 }", null: "null", bool: "true" };
  const settings = [
    "name",
    "backend",
    "contextSize",
    "threads",
    "seed",
    "warmup",
    "repeats",
    "generation",
    "timeouts",
    "gates",
    "suites",
    "variants",
  ];
  for (const key of settings) {
    for (const [kind, value] of Object.entries(wrong)) {
      if (key === "name" && kind === "string") continue;
      if (key === "threads" && kind === "string") continue;
      if ((key === "generation" || key === "timeouts" || key === "gates") && kind === "map")
        continue;
      if ((key === "suites" || key === "variants") && kind === "list") continue;
      const text = VALID_PLAN.includes(`\n${key}:`)
        ? VALID_PLAN.replace(new RegExp(`^${key}:(.*\\n)(  .*\\n)*`, "m"), `${key}: ${value}\n`)
        : `${VALID_PLAN}${key}: ${value}\n`;
      plan(`${key} is a ${kind}`, text);
    }
  }
  // Numbers out of range or beyond a double.
  const numbers = {
    negative: "-1",
    zero: "0",
    fraction: "2.5",
    huge: "99999999999999999999999",
    overflow: "1e400",
    inf: ".inf",
    nan: ".nan",
    hex: "0x",
    "minus inf": "-.inf",
  };
  for (const key of ["contextSize", "repeats", "seed", "warmup"]) {
    for (const [kind, value] of Object.entries(numbers)) {
      if ((key === "seed" || key === "warmup") && kind === "zero") continue;
      plan(`${key} ${kind}`, replaceLine(VALID_PLAN, key, `${key}: ${value}`));
    }
  }
  for (const [kind, value] of Object.entries({ huge: "1e400", negative: "-5", zero: "0" })) {
    plan(`maxTokens ${kind}`, VALID_PLAN.replace("maxTokens: 4", `maxTokens: ${value}`));
    plan(`loadSeconds ${kind}`, VALID_PLAN.replace("loadSeconds: 60", `loadSeconds: ${value}`));
    plan(`gate minRatio ${kind}`, VALID_PLAN.replace("minRatio: 0.9", `minRatio: ${value}`));
  }
  // Unknown keys: typos, unicode look-alikes, zero-width characters, control characters.
  for (const key of [
    "contextsize",
    "variant",
    "suite",
    "gate",
    "Backend",
    "cοntextSize",
    "context\u200bSize",
    "seed\u202e",
    '"new\\nline"',
    '"tab\\there"',
    "🙂",
  ]) {
    plan(`unknown key ${JSON.stringify(key)}`, `${VALID_PLAN}${key}: 1\n`);
  }
  plan(
    "unknown key in a variant",
    VALID_PLAN.replace("    precision: int8", "    precision: int8\n    quantise: q8_0"),
  );
  plan("unknown key in gates", VALID_PLAN.replace("  quality:", "  qualty:"));
  // Unicode in values.
  plan("variant name with emoji", VALID_PLAN.replace("name: q\n", "name: q🙂\n"));
  plan("variant name with a space", VALID_PLAN.replace("name: q\n", 'name: "q 8"\n'));
  plan("backend in cyrillic", replaceLine(VALID_PLAN, "backend", "backend: срu"));
  plan(
    "suite path unicode, missing",
    VALID_PLAN.replace("../valid/suite.yaml", "../valid/sûite.yaml"),
  );
  plan(
    "model path RTL override, missing",
    VALID_PLAN.replace(
      "model: ../model.gguf\n    precision: int8",
      "model: ../\u202emodel.gguf\n    precision: int8",
    ),
  );
  // Duplicate keys, at every depth.
  plan("duplicate top-level key", `${VALID_PLAN}contextSize: 512\n`);
  plan(
    "duplicate key in a variant",
    VALID_PLAN.replace("    precision: fp16", "    precision: fp16\n    precision: fp32"),
  );
  plan(
    "duplicate key in a flow map",
    VALID_PLAN.replace("maxTokens: 4,", "maxTokens: 4, maxTokens: 5,"),
  );
  plan(
    "duplicate key in gates",
    VALID_PLAN.replace(
      "  quality: { minRatio: 0.9 }",
      "  quality: { minRatio: 0.9 }\n  quality: { minRatio: 0.8 }",
    ),
  );
  // Alias bombs and alias mistakes.
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (const [i, name] of ["b", "c", "d", "e", "f", "g", "h", "i"].entries()) {
    const prev = String.fromCharCode(97 + i);
    laughs.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  plan("billion laughs at the top", `${laughs.join("\n")}\n${VALID_PLAN}`);
  plan(
    "billion laughs in a variant",
    VALID_PLAN.replace(
      "variants:",
      `x-bomb:\n${laughs.map((l) => `  ${l}`).join("\n")}\nvariants:`,
    ),
  );
  plan(
    "billion laughs as the name",
    `${laughs.map((l) => `# ${l}`).join("\n")}\n${laughs.slice(0, 6).join("\n").replace(/^/gm, "")}\n`.replace(
      /^a:/m,
      "name: x\na:",
    ),
  );
  plan(
    "alias to an undefined anchor",
    VALID_PLAN.replace("contextSize: 256", "contextSize: *nothing"),
  );
  plan("merge key of a scalar", VALID_PLAN.replace("threads: 1", "threads: 1\n<<: 5"));
  plan(
    "alias used as a key",
    `&k contextSize: 256\n${VALID_PLAN.replace("contextSize: 256\n", "")}*k : 5\n`,
  );
  // Deep nesting.
  plan(
    "flow lists nested 2000 deep",
    `${VALID_PLAN}perf: ${"[".repeat(2000)}${"]".repeat(2000)}\n`,
  );
  plan(
    "flow maps nested 1000 deep",
    `${VALID_PLAN}extra: ${"{ a: ".repeat(1000)}1${" }".repeat(1000)}\n`,
  );
  plan(
    "block maps nested 200 deep",
    `${VALID_PLAN}deep:\n${Array.from({ length: 200 }, (_, i) => `${" ".repeat(2 * (i + 1))}k${i}:`).join("\n")} 1\n`,
  );
  plan("flow list nested 2000 deep unclosed", `${VALID_PLAN}perf: ${"[".repeat(2000)}\n`);
  // Encodings: a BOM or CRLF on a file that is malformed in some other way too.
  plan("BOM and an unknown key", `\uFEFF${VALID_PLAN}colour: red\n`);
  plan(
    "CRLF and a wrong type",
    VALID_PLAN.replace("repeats: 1", "repeats: lots").replaceAll("\n", "\r\n"),
  );
  plan("BOM CRLF and a duplicate key", `\uFEFF${VALID_PLAN}seed: 1\n`.replaceAll("\n", "\r\n"));
  plan(
    "mixed CRLF and a bad indent",
    VALID_PLAN.replace("    precision: fp16\n", "    precision: fp16\r\n   baseline: true\r\n"),
  );
  plan(
    "UTF-16 LE bytes",
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(VALID_PLAN, "utf16le")]),
  );
  plan(
    "tab indentation",
    VALID_PLAN.replace(
      "    model: ../model.gguf\n    precision: fp16",
      "\tmodel: ../model.gguf\n\tprecision: fp16",
    ),
  );
  plan("NUL bytes", VALID_PLAN.replace("threads: 1", "threads: 1\u0000\u0000"));
  plan(
    "invalid UTF-8 in a key",
    Buffer.concat([
      Buffer.from(VALID_PLAN),
      Buffer.from([0x63, 0xc3, 0x28, 0x3a, 0x20, 0x31, 0x0a]),
    ]),
  );
  // Not a mapping at all.
  plan("empty file", "");
  plan("only a comment", "# nothing here\n");
  plan("a list", "- name: fuzz\n- variants: []\n");
  plan("a scalar", "just some words\n");
  plan("a number", "42\n");
  plan("JSON with a trailing comma", '{ "name": "x", "variants": [], }\n');
  plan("two documents", `${VALID_PLAN}---\nname: second\n`);
  plan("document end then text", `${VALID_PLAN}...\nstray\n`);
  plan("a tag it does not know", VALID_PLAN.replace("seed: 42", "seed: !!binary 42"));
  plan("unterminated quoted string", VALID_PLAN.replace("name: fuzz", 'name: "fuzz'));
  plan("a stray closing bracket", VALID_PLAN.replace("threads: 1", "threads: 1]"));
  // Valid YAML, invalid plan: every check the plan loader makes, each once.
  plan("no variants", VALID_PLAN.replace(/variants:\n( {2}.*\n)+/, "variants: []\n"));
  plan("no suites", VALID_PLAN.replace(/suites:\n( {2}.*\n)+/, "suites: []\n"));
  plan("duplicate variant names", VALID_PLAN.replace("name: q\n", "name: base\n"));
  plan("unknown baseline", `${VALID_PLAN}baseline: fp32\n`);
  plan(
    "two variants marked baseline",
    VALID_PLAN.replace("precision: fp16", "precision: fp16\n    baseline: true").replace(
      "precision: int8",
      "precision: int8\n    baseline: true",
    ),
  );
  plan(
    "quantize without from",
    VALID_PLAN.replace("    model: ../model.gguf\n    precision: int8", "    quantize: q8_0"),
  );
  plan(
    "model and quantize both",
    VALID_PLAN.replace("precision: int8", "precision: int8\n    quantize: q8_0").replace(
      "name: fuzz",
      "name: fuzz\nfrom: ../model.gguf",
    ),
  );
  plan(
    "unknown quantize type",
    VALID_PLAN.replace(
      "    model: ../model.gguf\n    precision: int8",
      "    quantize: iq2_xxs",
    ).replace("name: fuzz", "name: fuzz\nfrom: ../model.gguf"),
  );
  plan(
    "from a missing model",
    VALID_PLAN.replace("name: fuzz", "name: fuzz\nfrom: ../missing.gguf"),
  );
  plan(
    "a missing model",
    VALID_PLAN.replace(
      "model: ../model.gguf\n    precision: int8",
      "model: ../missing.gguf\n    precision: int8",
    ),
  );
  plan("a missing suite file", VALID_PLAN.replace("../valid/suite.yaml", "../valid/nope.yaml"));
  plan("a suite that is a folder", VALID_PLAN.replace("../valid/suite.yaml", "../valid"));
  plan(
    "the same suite twice",
    VALID_PLAN.replace(
      "  - ../valid/suite.yaml",
      "  - ../valid/suite.yaml\n  - ../valid/./suite.yaml",
    ),
  );
  plan(
    "a gate on a metric no suite produces",
    VALID_PLAN.replace("metric: exact_match", "metric: exact_mach"),
  );
  plan(
    "a gate on an unknown suite",
    VALID_PLAN.replace("metric: exact_match,", "metric: exact_match, suite: fuz,"),
  );
  plan(
    "runner webgpu with backend cpu",
    VALID_PLAN.replace("precision: int8", "precision: int8\n    runner: webgpu\n    backend: cpu"),
  );
  plan(
    "runner llama-cpp with backend webgpu",
    VALID_PLAN.replace(
      "precision: int8",
      "precision: int8\n    runner: llama-cpp\n    backend: webgpu",
    ),
  );
  plan(
    "an unknown runner",
    VALID_PLAN.replace("precision: int8", "precision: int8\n    runner: vllm"),
  );
  plan(
    "an empty runner command",
    VALID_PLAN.replace("precision: int8", "precision: int8\n    runner: { command: [] }"),
  );
  plan(
    "a managed server without url",
    VALID_PLAN.replace(
      "precision: int8",
      "precision: int8\n    runner: http\n    server: { command: [llama-server] }",
    ),
  );
  plan(
    "a managed server url that is not one",
    VALID_PLAN.replace(
      "precision: int8",
      "precision: int8\n    runner: http\n    server: { command: [x], url: notaurl }",
    ),
  );
  plan("cacheDir empty", `${VALID_PLAN}cacheDir: ""\n`);
  plan("perf shape negative", `${VALID_PLAN}perf: [{ prompt: -1 }]\n`);
  plan("gates confidence out of range", VALID_PLAN.replace("gates:", "gates:\n  confidence: 1.5"));
  plan("gates length tolerance wrong type", VALID_PLAN.replace("gates:", "gates:\n  length: true"));
  plan(
    "a perplexity ctx above the plan's context",
    VALID_PLAN.replace("contextSize: 256", "contextSize: 64").replace(
      "../valid/suite.yaml",
      "../suites/ppl-ctx.yaml",
    ),
    ["plans/$STEM.yaml", "suites/ppl-ctx.yaml"],
  );
}

function suiteCases() {
  const suiteLines = lines(VALID_SUITE);
  // Truncations that stop before metrics are listed: required keys are missing.
  const metricsAt = suiteLines.findIndex((l) => l.startsWith("metrics:"));
  for (let n = 0; n <= metricsAt; n++)
    suite(`truncated after ${n} lines`, suiteLines.slice(0, n).join("\n"));
  suiteLines.forEach((line, i) => {
    const colon = line.indexOf(":");
    if (colon < 2 || line.trimStart().startsWith("-")) return;
    suite(
      `cut mid key on line ${i + 1}`,
      `${suiteLines.slice(0, i).join("\n")}\n${line.slice(0, Math.ceil(colon / 2) + 1)}`,
    );
  });
  suite("cut inside the regex", VALID_SUITE.slice(0, VALID_SUITE.indexOf("(\\\\w") + 3));
  // Wrong types.
  const wrong = { list: "[1]", map: "{ a: 1 }", number: "7", null: "null" };
  for (const key of [
    "id",
    "description",
    "template",
    "fields",
    "target",
    "metrics",
    "fewshot",
    "data",
    "items",
    "generation",
  ]) {
    for (const [kind, value] of Object.entries(wrong)) {
      if (key === "fields" && kind === "list") continue;
      if (key === "items" && kind === "list") continue;
      if (key === "generation" && kind === "map") continue;
      if ((key === "description" || key === "fewshot") && kind !== "map") continue;
      const base =
        key === "template"
          ? VALID_SUITE.replace("prompt: ../valid/prompt.txt\n", "")
          : key === "items"
            ? VALID_SUITE.replace("data: ../valid/items.jsonl\n", "")
            : VALID_SUITE;
      const text =
        base.includes(`\n${key}:`) || base.startsWith(`${key}:`)
          ? base.replace(new RegExp(`^${key}:(.*\\n)(  .*\\n)*`, "m"), `${key}: ${value}\n`)
          : `${base}${key}: ${value}\n`;
      suite(`${key} is a ${kind}`, text);
    }
  }
  // Every metric option, each wrong once.
  const metric = (label, entry) =>
    suite(label, VALID_SUITE.replace(/metrics:\n( {2}.*\n)+/, `metrics:\n  - ${entry}\n`));
  for (const regex of [
    "([a-z",
    "(?<n>a)(?<n>b)",
    "*x",
    "a{2,1}",
    "\\",
    "(?<=",
    "[z-a]",
    "(?<a>x)\\k<nope>",
  ]) {
    metric(`bad regex ${regex}`, `exact_match: { regex: ${JSON.stringify(regex)} }`);
  }
  metric("regex a number", "exact_match: { regex: 5 }");
  metric("ignore_case a string", 'exact_match: { ignore_case: "yes" }');
  metric("normalize unknown", "exact_match: { normalize: nfkc }");
  metric("unknown exact_match option", "exact_match: { ignorecase: true }");
  metric("rouge types empty", "rouge: { types: [] }");
  metric("rouge type unknown", "rouge: { types: [rouge3] }");
  metric("rouge stem a number", "rouge: { stem: 1 }");
  metric("perplexity field and file", "perplexity: { field: text, file: t.txt }");
  metric("perplexity neither", "perplexity: {}");
  metric("perplexity ctx small", "perplexity: { field: question, ctx: 4 }");
  metric("perplexity ctx fraction", "perplexity: { field: question, ctx: 64.5 }");
  metric("perplexity field empty", 'perplexity: { field: "" }');
  metric("perplexity file missing", "perplexity: { file: missing.txt }");
  metric("unknown metric family", "bleu: {}");
  metric("two families in one entry", "{ exact_match: {}, rouge: {} }");
  metric("an empty entry", "{}");
  metric("a metric that is a string", "exact_match");
  suite("no metrics", VALID_SUITE.replace(/metrics:\n( {2}.*\n)+/, "metrics: []\n"));
  // Other header checks.
  suite("id with a space", VALID_SUITE.replace("id: fuzz", 'id: "fu zz"'));
  suite("id with emoji", VALID_SUITE.replace("id: fuzz", "id: fuzz🙂"));
  suite("id missing", VALID_SUITE.replace("id: fuzz\n", ""));
  suite(
    "prompt and template both",
    VALID_SUITE.replace(
      "prompt: ../valid/prompt.txt",
      'prompt: prompt.txt\ntemplate: "{{question}}"',
    ),
  );
  suite("no prompt or template", VALID_SUITE.replace("prompt: ../valid/prompt.txt\n", ""));
  suite("a missing prompt file", VALID_SUITE.replace("prompt.txt", "nope.txt"));
  suite(
    "a prompt file that is a folder",
    VALID_SUITE.replace("prompt: ../valid/prompt.txt", "prompt: ."),
  );
  suite("no target for exact match", VALID_SUITE.replace("target: answer\n", ""));
  suite(
    "an unclosed template tag",
    VALID_SUITE.replace("prompt: ../valid/prompt.txt", 'template: "Q: {{question"'),
  );
  suite(
    "a template with a bad block",
    VALID_SUITE.replace("prompt: ../valid/prompt.txt", 'template: "{{#each}}{{/if}}"'),
  );
  suite("a prompt file with a bad tag", VALID_SUITE.replace("prompt.txt", "$STEM.txt"), {
    ".txt": "Q: {{#if question}}\n",
  });
  // Named at the first item that lacks it (a line of the shared items).
  suite(
    "a template field items lack",
    VALID_SUITE.replace("prompt: ../valid/prompt.txt", 'template: "{{nope}}"'),
    {},
    ["valid/items.jsonl"],
  );
  suite("data and items both", `${VALID_SUITE}items:\n  - { question: q, answer: a }\n`);
  suite("a missing data file", VALID_SUITE.replace("items.jsonl", "nope.jsonl"));
  suite(
    "a data file that is a folder",
    VALID_SUITE.replace("data: ../valid/items.jsonl", "data: ."),
  );
  suite("an unknown header key", `${VALID_SUITE}shuffle: true\n`);
  suite(
    "generation with an unknown key",
    VALID_SUITE.replace("maxTokens: 4", "maxTokens: 4, top_p: 0.9"),
  );
  suite("generation maxTokens huge", VALID_SUITE.replace("maxTokens: 4", "maxTokens: 1e400"));
  suite("fewshot not a list of mappings", `${VALID_SUITE}fewshot: [1, 2]\n`);
  suite(
    "fewshot example lacking a field",
    VALID_SUITE.replace("prompt: ../valid/prompt.txt", 'template: "{{question}}"') +
      "fewshot:\n  - { answer: a }\n",
  );
  // Inline items.
  const inline = (label, items) =>
    suite(label, `${VALID_SUITE.replace("data: ../valid/items.jsonl\n", "")}items:\n${items}\n`);
  inline("an item lacking the target", "  - { question: q }");
  inline("an item that is a list", "  - [question, answer]");
  inline("an item that is a scalar", "  - just text");
  inline(
    "duplicate item ids",
    "  - { id: 1, question: q, answer: a }\n  - { id: 1, question: r, answer: b }",
  );
  inline("no items", "  []");
  inline("an item with a null target", "  - { question: q, answer: null }");
  // Malformed JSONL, each defect on line 2 of the suite's own items.
  const jsonl = (label, second, rest = "") => {
    const [first, , third] = VALID_ITEMS.split("\n");
    suite(
      `jsonl ${label}`,
      VALID_SUITE.replace("../valid/items.jsonl", "$STEM.jsonl"),
      { ".jsonl": `${first}\n${second}\n${third}\n${rest}` },
      ["suites/$STEM.jsonl"],
    );
  };
  jsonl("truncated line", VALID_ITEMS.split("\n")[1]?.slice(0, 20) ?? "");
  jsonl("an array line", '["question", "answer"]');
  jsonl("a number line", "42");
  jsonl("a string line", '"text"');
  jsonl("null line", "null");
  jsonl("trailing comma", '{"id":"x","question":"q","answer":"a",}');
  jsonl("single quotes", "{'id':'x','question':'q','answer':'a'}");
  jsonl("NaN literal", '{"id":"x","question":"q","answer":NaN}');
  jsonl("two objects on a line", '{"id":"x","question":"q","answer":"a"}{"id":"y"}');
  jsonl("a YAML line", "id: x");
  jsonl("a lacking field", '{"id":"x","question":"q"}');
  jsonl("a null target", '{"id":"x","question":"q","answer":null}');
  jsonl("a duplicate id", '{"id":"a","question":"q","answer":"a"}');
  jsonl("a NUL outside strings", '{"id":"x",\u0000"question":"q","answer":"a"}');
  jsonl("a lone surrogate escape key", '{"id":"x","question":"q","answer":"a","\\ud800":1');
  jsonl(
    "nested 100000 deep",
    `{"id":"x","question":"q","answer":"a","deep":${"[".repeat(100000)}${"]".repeat(100000)}}`,
  );
  jsonl(
    "an object nested 50000 deep",
    `{"id":"x","question":"q","answer":"a","deep":${'{"a":'.repeat(50000)}1${"}".repeat(50000)}}`,
  );
  jsonl("a huge number then garbage", '{"id":"x","question":"q","answer":"a","n":1e999999x}');
  jsonl("a BOM in the middle", '\uFEFF{"id":"x","question":"q","answer":"a"}');
  jsonl("CRLF and a bad line", '{"id":"x"\r', "\r\n");
  jsonl("a stray close brace", "}");
  const bytes = Buffer.concat([
    Buffer.from(`${VALID_ITEMS.split("\n")[0]}\n{"id":"x","question":`),
    Buffer.from([0xc3, 0x28]),
    Buffer.from("}\n"),
  ]);
  suite(
    "jsonl invalid UTF-8",
    VALID_SUITE.replace("../valid/items.jsonl", "$STEM.jsonl"),
    { ".jsonl": bytes },
    ["suites/$STEM.jsonl"],
  );
  suite("jsonl empty", VALID_SUITE.replace("../valid/items.jsonl", "$STEM.jsonl"), {
    ".jsonl": "\n\n",
  });
  // YAML-level defects in a suite.
  suite("duplicate header key", `${VALID_SUITE}id: again\n`);
  suite(
    "duplicate key in a metric",
    VALID_SUITE.replace("ignore_case: true,", "ignore_case: true, ignore_case: false,"),
  );
  suite(
    "billion laughs",
    `${[
      "a: &a [x,x,x,x,x,x,x,x,x]",
      ...["b", "c", "d", "e", "f", "g", "h", "i"].map(
        (n, i) =>
          `${n}: &${n} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(",")}]`,
      ),
    ].join("\n")}\n${VALID_SUITE}`,
  );
  suite(
    "billion laughs inside items",
    `${VALID_SUITE.replace("data: ../valid/items.jsonl\n", "")}items:\n  - &a { question: q, answer: a }\n${Array(200).fill("  - *a").join("\n")}\n`,
  );
  suite(
    "flow lists nested 2000 deep",
    `${VALID_SUITE}fewshot: ${"[".repeat(2000)}${"]".repeat(2000)}\n`,
  );
  suite("BOM and an unknown key", `\uFEFF${VALID_SUITE}colour: red\n`);
  suite(
    "CRLF and a bad regex",
    VALID_SUITE.replace('regex: "(', 'regex: "((').replaceAll("\n", "\r\n"),
  );
  suite("tab indentation", VALID_SUITE.replace("  - rouge:", "\t- rouge:"));
  suite("empty file", "");
  suite("a list", "- id: fuzz\n");
  suite("two documents", `${VALID_SUITE}---\nid: other\n`);
}

rmSync(ROOT, { recursive: true, force: true });
writeValid();
planCases();
// The one suite a plan case refers to (its ctx exceeds that plan's contextSize).
writeFileSync(
  join(ROOT, "suites", "ppl-ctx.yaml"),
  "id: pplctx\nmetrics:\n  - perplexity: { file: ../valid/prompt.txt, ctx: 128 }\n",
);
suiteCases();
writeFileSync(join(ROOT, "manifest.json"), `${JSON.stringify({ cases }, null, 1)}\n`);
process.stdout.write(
  `wrote ${cases.length} cases (${cases.filter((c) => c.kind === "plan").length} plans, ${cases.filter((c) => c.kind === "suite").length} suites) to ${ROOT}\n`,
);
