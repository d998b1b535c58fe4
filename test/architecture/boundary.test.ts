/**
 * The boundaries docs/runner-protocol.md promises, read from every .ts file under lib/, src/
 * and runners/: a runner imports only its own folder, the kit (runners/shared/), the
 * protocol's types and the leaves under lib/;
 * src/ reaches runners only by spawning them; a leaf imports nothing from either, and no
 * package but Node's own.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PROTOCOL = "src/runner-client/protocol.ts";

/** `import … from "x"`, `export … from "x"`, `import "x"`, `import("x")`, `import.meta.resolve("x")`. */
const IMPORT_PATTERNS = [
  /^[ \t]*(?:import|export)\b[^;=()]*?\bfrom\s*["']([^"']+)["']/gm,
  /^[ \t]*import\s*["']([^"']+)["']/gm,
  /\bimport(?:\.meta\.resolve)?\(\s*["']([^"']+)["']/g,
];

interface Import {
  /** The importing file, relative to the repository root. */
  file: string;
  specifier: string;
  /** The file a relative specifier names (`.js` read as its `.ts` source), relative to the root. */
  target: string | undefined;
}

function importsOf(file: string, source: string): Import[] {
  const found: Import[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of source.matchAll(pattern)) {
      const specifier = match[1] ?? "";
      const target = specifier.startsWith(".")
        ? relative(ROOT, resolve(ROOT, dirname(file), specifier.replace(/\.js$/, ".ts")))
        : undefined;
      found.push({ file, specifier, target });
    }
  }
  return found;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(dir, name))
    .sort();
}

const inside = (path: string | undefined, dir: string) => path?.startsWith(`${dir}/`) === true;

/** What breaks the rules in `imports`, one line per import, naming file and specifier. */
function violations(imports: Import[]): string[] {
  const broken: string[] = [];
  const refuse = (i: Import, why: string) =>
    broken.push(`${i.file} imports "${i.specifier}": ${why}`);
  for (const i of imports) {
    if (i.file === PROTOCOL) refuse(i, "the protocol's types import nothing");
    if (inside(i.file, "runners") && i.target !== undefined) {
      const own = i.file.split("/").slice(0, 2).join("/");
      const allowed =
        inside(i.target, own) ||
        inside(i.target, "runners/shared") ||
        i.target === PROTOCOL ||
        inside(i.target, "lib");
      if (!allowed) {
        refuse(i, `a runner imports only its own folder, runners/shared/, ${PROTOCOL} and lib/`);
      }
    }
    if (inside(i.file, "src") && inside(i.target, "runners")) {
      refuse(i, "src/ reaches runners only by spawning them");
    }
    if (inside(i.file, "lib")) {
      if (i.target !== undefined && !inside(i.target, "lib")) {
        refuse(i, "a leaf imports nothing from src/ or runners/");
      }
      if (i.target === undefined && !i.specifier.startsWith("node:")) {
        refuse(i, "a leaf depends on no package but Node's own");
      }
    }
  }
  return broken;
}

const FILES = ["lib", "src", "runners"].flatMap(tsFiles);
const IMPORTS = FILES.flatMap((file) => importsOf(file, readFileSync(join(ROOT, file), "utf8")));

describe("import boundaries of lib/, src/ and runners/", () => {
  it("finds the imports it checks: every relative one names a file that exists", () => {
    assert.ok(FILES.length > 100, `only ${FILES.length} files under lib/, src/ and runners/`);
    const relativeImports = IMPORTS.filter((i) => i.target !== undefined);
    assert.ok(relativeImports.length > 200, `only ${relativeImports.length} relative imports`);
    const missing = relativeImports
      .filter((i) => !existsSync(join(ROOT, i.target as string)))
      .map((i) => `${i.file} imports "${i.specifier}", which is not a file`);
    assert.deepEqual(missing, []);
    assert.ok(
      IMPORTS.some(
        (i) => i.file === "runners/http/main.ts" && i.target === "lib/openai/openai-stream.ts",
      ),
      "the scan misses the http runner's import of the streaming client",
    );
  });

  it("holds: a runner → its folder, the kit, the protocol, lib/; src/ ↛ runners/; lib/ ↛ src/, runners/, packages", () => {
    assert.deepEqual(violations(IMPORTS), []);
  });

  it("names the file and the import of each kind of breach (the check itself)", () => {
    const sources: Array<[string, string]> = [
      ["runners/webgpu/x.ts", 'import { readGguf } from "../../src/gguf/summary.js";'],
      ["runners/http/x.ts", 'export {\n  a,\n  type B,\n} from "../llama-cpp/versions.js";'],
      ["src/sweep/x.ts", 'const m = await import("../../runners/http/main.js");'],
      ["lib/gguf/x.ts", 'import type { InputError } from "../../src/errors.js";'],
      ["lib/openai/x.ts", 'import pLimit from "p-limit";'],
      [PROTOCOL, 'import "./client.js";'],
    ];
    const found = violations(sources.flatMap(([file, text]) => importsOf(file, text)));
    assert.deepEqual(found, [
      'runners/webgpu/x.ts imports "../../src/gguf/summary.js": a runner imports only its own folder, runners/shared/, src/runner-client/protocol.ts and lib/',
      'runners/http/x.ts imports "../llama-cpp/versions.js": a runner imports only its own folder, runners/shared/, src/runner-client/protocol.ts and lib/',
      'src/sweep/x.ts imports "../../runners/http/main.js": src/ reaches runners only by spawning them',
      'lib/gguf/x.ts imports "../../src/errors.js": a leaf imports nothing from src/ or runners/',
      'lib/openai/x.ts imports "p-limit": a leaf depends on no package but Node\'s own',
      `${PROTOCOL} imports "./client.js": the protocol's types import nothing`,
    ]);
  });
});
