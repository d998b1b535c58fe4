import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "../support/paths.js";

const DIR = join(ROOT, "src/orchestrator");

/** Each file of src/orchestrator and the files of src/orchestrator it imports (types included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".ts"))) {
    const source = readFileSync(join(DIR, file), "utf8");
    const local = [...source.matchAll(/from\s+"\.\/([\w.-]+)\.js"/g)].map((m) => `${m[1]}.ts`);
    graph.set(file, local);
  }
  return graph;
}

/** The first import cycle found by depth-first search, as the chain of files, or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const visit = (file: string, chain: string[]): string[] | undefined => {
    if (state.get(file) === "open") return [...chain.slice(chain.indexOf(file)), file];
    if (state.get(file) === "done") return undefined;
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next, [...chain, file]);
      if (cycle) return cycle;
    }
    state.set(file, "done");
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("src/orchestrator's imports", () => {
  it("form no cycle (the run loop goes one way: plan → work → session → store)", () => {
    const graph = importGraph();
    const edges = [...graph.values()].reduce((n, to) => n + to.length, 0);
    for (const [file, to] of graph) {
      for (const target of to) assert.ok(graph.has(target), `${file} imports missing ${target}`);
    }
    assert.ok(graph.size >= 10 && edges >= 10, `${graph.size} files, ${edges} imports read`);
    assert.equal(findCycle(graph)?.join(" → "), undefined);
  });

  it("the cycle search finds one where there is one", () => {
    const cyclic = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", []],
    ]);
    assert.deepEqual(findCycle(cyclic), ["a.ts", "b.ts", "c.ts", "a.ts"]);
  });
});
