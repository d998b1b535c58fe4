/**
 * docs/DESIGN.md's "Where things are" table says, per folder of src/, what it may import; this
 * reads the table and every relative import under src/, and holds the code to it.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FROM = /^[ \t]*(?:import|export)\b[^;=()]*?\bfrom\s*["'](\.[^"']+)["']/gm;
/** Files every folder may use: the error classes and the exit-code contract. */
const SHARED = new Set(["src/errors.ts", "src/exit-codes.ts"]);

/** Folder (e.g. `src/plan`) → the folders it may import, or "any". */
function readMap(): Map<string, Set<string> | "any"> {
  const design = readFileSync(join(ROOT, "docs/DESIGN.md"), "utf8");
  const section = design.slice(design.indexOf("## Where things are"));
  const map = new Map<string, Set<string> | "any">();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const folder = /^`(src\/[a-z-]+)\/`$/.exec(cells[1] ?? "")?.[1];
    if (!folder) continue;
    const allowed = cells[3] ?? "";
    if (/^any `src\/` folder/.test(allowed)) {
      map.set(folder, "any");
      continue;
    }
    const names = [...allowed.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "");
    map.set(
      folder,
      new Set(names.map((n) => (n.startsWith("lib/") ? n.replace(/\/$/, "") : `src/${n}`))),
    );
  }
  return map;
}

function folderOf(path: string): string {
  const parts = path.split("/");
  return parts[0] === "lib" ? `lib/${parts[1]}` : parts.slice(0, 2).join("/");
}

describe("docs/DESIGN.md's map of src/ matches the code", () => {
  const map = readMap();
  const folders = readdirSync(join(ROOT, "src"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `src/${d.name}`);

  it("has a row for every folder of src/", () => {
    assert.ok(map.size >= 10, `read ${map.size} rows`);
    const missing = folders.filter((f) => !map.has(f));
    assert.deepEqual(missing, [], `folders without a row in DESIGN.md: ${missing.join(", ")}`);
  });

  it("every import between folders is one the map allows", () => {
    const broken: string[] = [];
    let count = 0;
    for (const folder of folders) {
      const allowed = map.get(folder);
      for (const name of readdirSync(join(ROOT, folder), { recursive: true, encoding: "utf8" })) {
        if (!name.endsWith(".ts")) continue;
        const file = join(folder, name);
        for (const m of readFileSync(join(ROOT, file), "utf8").matchAll(FROM)) {
          const target = relative(
            ROOT,
            resolve(ROOT, dirname(file), (m[1] ?? "").replace(/\.js$/, ".ts")),
          );
          const to = folderOf(target);
          count++;
          if (to === folder || SHARED.has(target) || allowed === "any") continue;
          if (target === "src/runner-client/protocol.ts" && allowed?.has("src/runner-client"))
            continue;
          if (!allowed?.has(to))
            broken.push(`${file} imports ${target}: ${folder} may not import ${to}`);
        }
      }
    }
    assert.ok(count > 200, `read ${count} imports`);
    assert.deepEqual(broken, [], broken.join("\n"));
  });
});
