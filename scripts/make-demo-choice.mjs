#!/usr/bin/env node
// Writes suites/data/demo-choice.jsonl, the bundled multiple-choice suite of the demo model:
// the first ten held-out items of each demo task (suites/data/demo-tasks.jsonl), each with its
// answer and three near misses made by rule (a sum off by one or ten, words in the wrong order
// or one of them changed, capitals swapped or borrowed from another item). Deterministic.
// Usage: node scripts/make-demo-choice.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const data = join(import.meta.dirname, "../suites/data");
const tasks = readFileSync(join(data, "demo-tasks.jsonl"), "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => JSON.parse(line));
const vocabulary = [
  ...new Set(
    tasks
      .filter((t) => t.kind !== "sum" && t.kind !== "capital")
      .flatMap((t) => t.answer.split(" ")),
  ),
].sort();
const capitals = tasks.filter((t) => t.kind === "capital").flatMap((t) => t.answer.split(" and "));

function nearMisses(task, i) {
  const words = task.answer.split(" ");
  if (task.kind === "sum") {
    const n = Number(task.answer);
    return [n + 1, n - 1, n + 10].map(String);
  }
  if (task.kind === "copy" || task.kind === "reverse") {
    const reversed = [...words].reverse().join(" ");
    const rotated = [...words.slice(1), words[0]].join(" ");
    const swapped = [words[1], words[0], ...words.slice(2)].join(" ");
    const lastSwapped = [...words.slice(0, -2), words.at(-1), words.at(-2)].join(" ");
    const rotatedBack = [words.at(-1), ...words.slice(0, -1)].join(" ");
    const others = vocabulary.filter((w) => !words.includes(w));
    const replaced = [...words.slice(0, -1), others[(i * 5) % others.length]].join(" ");
    const replacedFirst = [others[(i * 3 + 1) % others.length], ...words.slice(1)].join(" ");
    // No choice is a prefix of another: nothing ends a continuation, so a prefix always scores higher.
    return [reversed, rotated, swapped, lastSwapped, rotatedBack, replaced, replacedFirst];
  }
  const [a, b] = task.answer.split(" and ");
  const other = capitals[(i * 7 + 3) % capitals.length];
  const other2 = capitals[(i * 11 + 5) % capitals.length];
  return [
    `${b} and ${a}`,
    `${a} and ${other === b ? other2 : other}`,
    `${other2 === a ? other : other2} and ${b}`,
  ];
}

const rows = [];
for (const kind of ["sum", "copy", "reverse", "capital"]) {
  tasks
    .filter((t) => t.kind === kind)
    .slice(0, 10)
    .forEach((task, i) => {
      const misses = [...new Set(nearMisses(task, i))].filter((m) => m !== task.answer && m !== "");
      const gold = (i * 3) % 4;
      const choices = misses.slice(0, 3);
      choices.splice(gold, 0, task.answer);
      rows.push({ id: task.id, question: task.question, choices, answer: task.answer });
    });
}
writeFileSync(
  join(data, "demo-choice.jsonl"),
  `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`,
);
console.log(`${rows.length} items in ${join(data, "demo-choice.jsonl")}`);
