// Writes test/fixtures/lm-eval/hub/: a small stand-in for the Hugging Face Hub's copies of the
// datasets that the real lm-eval task files in test/fixtures/lm-eval/tasks/ name, in the
// Hub's layouts and column types (structs of lists, int64 labels), as Parquet files
// (hyparquet-writer). The docs are written for this project, a few per split.
// Layout: hub/<owner>/<name>/<revision>/<path in the repository>, revision "main" or
// "refs--convert--parquet" (the Hub's Parquet conversion, which script datasets have).
// Run: node scripts/make-lm-eval-fixtures.mjs
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parquetWriteBuffer } from "hyparquet-writer";

const ROOT = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "test",
  "fixtures",
  "lm-eval",
  "hub",
);

function write(path, columns) {
  const file = join(ROOT, ...path.split("/"));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, Buffer.from(parquetWriteBuffer({ columnData: columns })));
}

function text(path, body) {
  const file = join(ROOT, ...path.split("/"));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, body);
}

const col = (name, data, type) => (type ? { name, data, type } : { name, data });
const int64 = (name, data) => col(name, data.map(BigInt), "INT64");

const ARC = [
  ["Which animal can fly?", ["a cat", "a bird", "a fish", "a dog"], "B"],
  ["What falls from clouds?", ["rain", "sand", "stones", "milk"], "A"],
  ["Which is hot?", ["ice", "snow", "the sun", "the moon"], "C"],
  ["What do cows drink?", ["oil", "water", "ink", "paint"], "B"],
  ["Where do fish live?", ["trees", "water", "sky", "sand"], "B"],
  ["What melts in the sun?", ["ice", "rock", "iron", "glass"], "A"],
];

function arc(rows, prefix) {
  return [
    col(
      "id",
      rows.map((_, i) => `${prefix}-${i + 1}`),
      "STRING",
    ),
    col(
      "question",
      rows.map((r) => r[0]),
      "STRING",
    ),
    col(
      "choices",
      rows.map((r) => ({ text: r[1], label: ["A", "B", "C", "D"].slice(0, r[1].length) })),
    ),
    col(
      "answerKey",
      rows.map((r) => r[2]),
      "STRING",
    ),
  ];
}

rmSync(ROOT, { recursive: true, force: true });

// allenai/ai2_arc: one folder per config, <split>-00000-of-00001.parquet (datasets' push_to_hub).
const arcMain = "allenai/ai2_arc/main";
text(`${arcMain}/README.md`, "# ai2_arc (qbench test stand-in)\n");
write(`${arcMain}/ARC-Easy/test-00000-of-00001.parquet`, arc(ARC, "easy"));
write(`${arcMain}/ARC-Easy/train-00000-of-00001.parquet`, arc(ARC.slice(0, 4), "easy-train"));
write(`${arcMain}/ARC-Easy/validation-00000-of-00001.parquet`, arc(ARC.slice(2, 5), "easy-val"));
write(`${arcMain}/ARC-Challenge/test-00000-of-00001.parquet`, arc(ARC.slice(3), "challenge"));

// baber/piqa: data/<split>-00000-of-00001.parquet (a single default config).
const PIQA = [
  ["Keep soup warm", "Put the lid on the pot.", "Put the pot in the freezer.", 0],
  ["Dry wet hair", "Use a towel.", "Use a bucket of water.", 0],
  ["Open a locked door", "Use a spoon of sugar.", "Use the key.", 1],
  ["Cut paper", "Use scissors.", "Use a pillow.", 0],
];
const piqa = (rows) => [
  col(
    "goal",
    rows.map((r) => r[0]),
    "STRING",
  ),
  col(
    "sol1",
    rows.map((r) => r[1]),
    "STRING",
  ),
  col(
    "sol2",
    rows.map((r) => r[2]),
    "STRING",
  ),
  int64(
    "label",
    rows.map((r) => r[3]),
  ),
];
write("baber/piqa/main/data/validation-00000-of-00001.parquet", piqa(PIQA));
write("baber/piqa/main/data/train-00000-of-00001.parquet", piqa(PIQA.slice(0, 2)));

// EleutherAI/lambada_openai: a script dataset; its data is read from the Parquet conversion.
text(
  "EleutherAI/lambada_openai/main/lambada_openai.py",
  "# a loading script: qbench reads the Parquet conversion\n",
);
write("EleutherAI/lambada_openai/refs--convert--parquet/default/test/0000.parquet", [
  col(
    "text",
    [
      "Once upon a time there was a little girl named Lily. She liked to play with her ball",
      "The dog ran to the park and found a big red ball",
      "Tom was sad because he lost his toy. His mom helped him look for the toy",
      "The sun was hot, so they went to swim in the lake",
    ],
    "STRING",
  ),
]);

// allenai/openbookqa: config folder "main".
const OBQA = [
  ["The moon is seen at", ["night", "noon only", "the sea floor", "a cave"], " A"],
  ["Plants need sunlight to", ["sing", "make food", "walk", "sleep"], "B"],
  ["A magnet pulls", ["wood", "paper", "iron", "glass"], "C"],
];
write("allenai/openbookqa/main/main/test-00000-of-00001.parquet", [
  col(
    "id",
    OBQA.map((_, i) => `obqa-${i + 1}`),
    "STRING",
  ),
  col(
    "question_stem",
    OBQA.map((r) => r[0]),
    "STRING",
  ),
  col(
    "choices",
    OBQA.map((r) => ({ text: r[1], label: ["A", "B", "C", "D"] })),
  ),
  col(
    "answerKey",
    OBQA.map((r) => r[2]),
    "STRING",
  ),
]);

// cais/mmlu: one folder per subject, with dev (the 5 shots), validation and test.
const MMLU_DEV = [
  ["What is 1 + 1?", ["1", "2", "3", "4"], 1],
  ["What is 2 + 2?", ["4", "5", "6", "7"], 0],
  ["What is 3 + 3?", ["5", "7", "6", "9"], 2],
  ["What is 4 + 4?", ["6", "7", "9", "8"], 3],
  ["What is 5 + 5?", ["10", "11", "12", "13"], 0],
];
const MMLU_TEST = [
  [" What is 6 + 6? ", ["11", "12", "13", "14"], 1],
  ["What is 7 + 7?", ["14", "15", "16", "13"], 0],
  ["What is 8 + 8?", ["15", "17", "16", "18"], 2],
];
const mmlu = (rows) => [
  col(
    "question",
    rows.map((r) => r[0]),
    "STRING",
  ),
  col(
    "subject",
    rows.map(() => "abstract_algebra"),
    "STRING",
  ),
  col(
    "choices",
    rows.map((r) => r[1]),
  ),
  int64(
    "answer",
    rows.map((r) => r[2]),
  ),
];
write("cais/mmlu/main/abstract_algebra/dev-00000-of-00001.parquet", mmlu(MMLU_DEV));
write("cais/mmlu/main/abstract_algebra/test-00000-of-00001.parquet", mmlu(MMLU_TEST));
write("cais/mmlu/main/all/test-00000-of-00001.parquet", mmlu(MMLU_TEST.slice(0, 1)));

// aps/super_glue: config folder "boolq".
write("aps/super_glue/main/boolq/validation-00000-of-00001.parquet", [
  col("question", ["is the sun hot", "is ice hot"], "STRING"),
  col("passage", ["The sun is a hot star.", "Ice is frozen water and is cold."], "STRING"),
  int64("idx", [0, 1]),
  int64("label", [1, 0]),
]);
console.log(`wrote ${ROOT}`);
