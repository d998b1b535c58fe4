#!/usr/bin/env node
// Writes the multiple-choice test data of test/fixtures/choices/, written for this project in
// the TinyStories register the small test models know: a HellaSwag-form file (a context, four
// endings, the gold one) and a WinoGrande-form file (a sentence with a blank, two names, the
// answer). Deterministic: the same files every run. Usage: node scripts/make-choice-data.mjs
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const out = join(import.meta.dirname, "../test/fixtures/choices");
const names = [
  "Lily",
  "Tom",
  "Sue",
  "Ben",
  "Mia",
  "Max",
  "Anna",
  "Tim",
  "Lucy",
  "Sam",
  "Amy",
  "Jack",
];
const places = ["park", "garden", "beach", "forest", "kitchen", "school"];
const things = ["ball", "toy car", "red kite", "big box", "small doll", "blue cup"];

// HellaSwag form: a context, its own ending and three endings of other scenes (grammatical,
// but not what follows), as HellaSwag's adversarial endings are.
const scenes = [
  ["went to the {place} with her mom. She", "played on the swings and laughed."],
  ["found a {thing} under the bed. He", "picked it up and smiled."],
  ["was very hungry after playing in the {place}. She", "asked her mom for some food."],
  [
    "wanted to play with the {thing}, but it was broken. He",
    "felt sad and asked his dad to fix it.",
  ],
  ["saw a little bird in the {place}. The bird", "sang a happy song."],
  ["and her friend shared a {thing} at the {place}. They", "played together all day and had fun."],
  ["was tired after a long day. She", "went to bed and fell asleep."],
  ["dropped the {thing} in the water. He", "cried because it was wet."],
];
const hellaswag = [];
for (let i = 0; i < 40; i++) {
  const fill = (s) =>
    s
      .replaceAll("{place}", places[i % places.length])
      .replaceAll("{thing}", things[(i * 5) % things.length]);
  const scene = scenes[i % scenes.length];
  const others = [1, 3, 6].map((k) => scenes[(i + k) % scenes.length][1]);
  const gold = (i * 7) % 4;
  const endings = others.map(fill);
  endings.splice(gold, 0, fill(scene[1]));
  const name = names[i % names.length];
  hellaswag.push({
    id: `hs-${String(i + 1).padStart(2, "0")}`,
    ctx: `${name} ${fill(scene[0])}`,
    endings,
    label: gold,
  });
}
writeFileSync(
  join(out, "hellaswag.jsonl"),
  `${hellaswag.map((r) => JSON.stringify(r)).join("\n")}\n`,
);

// WinoGrande form: the blank is one of two names, the sentence decides which.
const frames = [
  ["{a} was taller than {b}, so _ could reach the top shelf.", 1],
  ["{a} was taller than {b}, so _ needed help to reach the top shelf.", 2],
  ["{a} gave the {thing} to {b} because _ did not want it anymore.", 1],
  ["{a} gave the {thing} to {b} because _ wanted to play with it.", 2],
  ["{a} was sad and {b} was happy, so _ cried all day in the {place}.", 1],
  ["{a} was sad and {b} was happy, so _ laughed all day in the {place}.", 2],
  ["{a} ran faster than {b} in the {place}, so _ won the race.", 1],
  ["{a} ran faster than {b} in the {place}, so _ lost the race.", 2],
  ["{a} helped {b} find the lost {thing}, so _ said thank you to the helper.", 2],
  ["{a} was hungry but {b} was not, so _ ate the cake.", 1],
];
const winogrande = [];
for (let i = 0; i < 120; i++) {
  const [frame, answer] = frames[i % frames.length];
  const a = names[Math.floor(i / frames.length) % names.length];
  const b = names[(Math.floor(i / frames.length) + 5) % names.length];
  const sentence = frame
    .replaceAll("{a}", a)
    .replaceAll("{b}", b)
    .replaceAll("{place}", places[i % places.length])
    .replaceAll("{thing}", things[i % things.length]);
  winogrande.push({
    id: `wg-${String(i + 1).padStart(3, "0")}`,
    sentence,
    option1: a,
    option2: b,
    answer: answer - 1,
  });
}
writeFileSync(
  join(out, "winogrande.jsonl"),
  `${winogrande.map((r) => JSON.stringify(r)).join("\n")}\n`,
);
console.log(
  `${hellaswag.length} HellaSwag-form and ${winogrande.length} WinoGrande-form items in ${out}`,
);
