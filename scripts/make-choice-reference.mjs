#!/usr/bin/env node
// Runs llama.cpp's own llama-perplexity --hellaswag and --winogrande on the multiple-choice test
// data (test/fixtures/choices/*.jsonl, from make-choice-data.mjs) for each test model and keeps
// what it printed, parsed, as test/fixtures/choices/reference-<model>.json (its raw output beside
// it as .log). qbench's `scoring: llama.cpp` is checked against these (test/orchestrator/choices-
// llama-cpp.test.ts). llama-perplexity draws its HellaSwag task order from std::mt19937(1) and
// libstdc++'s uniform_int_distribution; a 10-line C++ program compiled here with the same g++
// prints that order, so each printed line can be matched to its task.
//
// Usage: node scripts/make-choice-reference.mjs [LLAMA_BIN=/tmp/llama-src/build/bin]
// Needs: llama-perplexity built from node-llama-cpp's bundled llama.cpp (see ../shared/models/README.md), g++.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const dir = join(root, "test/fixtures/choices");
const bin = process.env.LLAMA_BIN ?? "/tmp/llama-src/build/bin";
const work = mkdtempSync(join(tmpdir(), "qbench-choices-"));
const models = {
  "stories260K-f32": join(root, "../shared/models/stories260K-f32.gguf"),
  "demo-f16": join(root, "models/demo/demo-f16.gguf"),
};

const readJsonl = (name) =>
  readFileSync(join(dir, name), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const hellaswag = readJsonl("hellaswag.jsonl");
const winogrande = readJsonl("winogrande.jsonl");

// HellaSwag's 6-line form: context, gold index, four endings (llama.cpp joins them with " ").
const hsFile = join(work, "hellaswag.txt");
writeFileSync(
  hsFile,
  `${hellaswag.map((t) => [t.ctx, t.label, ...t.endings].join("\n")).join("\n")}\n`,
);
// WinoGrande's CSV form: index, "sentence", option1, option2, answer (1 or 2).
const wgFile = join(work, "winogrande.csv");
writeFileSync(
  wgFile,
  // Two final newlines: llama-perplexity drops the prompt's last one, then its CSV reader drops a
  // last line that has none.
  `${winogrande
    .map((t, i) => `${i},"${t.sentence}",${t.option1},${t.option2},${t.answer + 1}`)
    .join("\n")}\n\n`,
);

const orderSource = join(work, "order.cpp");
writeFileSync(
  orderSource,
  `#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
// hellaswag_score's task selection, as perplexity.cpp draws it.
int main(int argc, char ** argv) {
    size_t n = std::strtoul(argv[1], nullptr, 10);
    std::vector<size_t> left(n);
    for (size_t i = 0; i < n; i++) left[i] = i;
    std::mt19937 rng(1);
    for (size_t i = 0; i < n; i++) {
        std::uniform_int_distribution<size_t> dist(0, left.size() - 1);
        size_t idx = dist(rng);
        std::printf("%zu\\n", left[idx]);
        left.erase(left.begin() + idx);
    }
}
`,
);
execFileSync("g++", ["-O1", "-o", join(work, "order"), orderSource]);
const order = execFileSync(join(work, "order"), [String(hellaswag.length)], { encoding: "utf8" })
  .trim()
  .split("\n")
  .map(Number);

for (const [name, model] of Object.entries(models)) {
  const spawnArgs = (args) => {
    // Its tables go to stdout, its log to stderr: both kept, into a file — into a pipe, the
    // logger thread's last lines can be lost at exit.
    const log = join(work, "out.log");
    execFileSync(
      "sh",
      [
        "-c",
        `"$0" "$@" > "${log}" 2>&1`,
        join(bin, "llama-perplexity"),
        "-m",
        model,
        "-c",
        "256",
        "-b",
        "256",
        "-t",
        "2",
        ...args,
      ],
      { env: { ...process.env, LD_LIBRARY_PATH: bin } },
    );
    return readFileSync(log, "utf8");
  };
  // Its logger thread is not always drained at exit, so a run whose last line is missing is
  // run again (the figures are deterministic; only the printing is cut short).
  const complete = (args, done) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const log = spawnArgs(args);
      if (done(log)) return log;
    }
    throw new Error(`${name}: llama-perplexity ${args.join(" ")} never printed its last line`);
  };
  const hsLog = complete(
    ["--hellaswag", "--hellaswag-tasks", String(hellaswag.length), "-f", hsFile],
    (log) => new RegExp(`^${hellaswag.length}\t`, "m").test(log),
  );
  const wgLog = complete(["--winogrande", "-f", wgFile], (log) =>
    /Final Winogrande score/.test(log),
  );
  writeFileSync(join(dir, `hellaswag-${name}.log`), hsLog);
  writeFileSync(join(dir, `winogrande-${name}.log`), wgLog);
  // "<n>\t<acc_norm %>\t[<lo>%, <hi>%]": the running accuracy after the n-th drawn task.
  const hsLines = [...hsLog.matchAll(/^(\d+)\t(\d+\.\d+)%\t\[/gm)].map((m) => ({
    n: Number(m[1]),
    acc: m[2],
  }));
  // "<n>\t<acc>\t<score 1>  <score 2>  <pick 1|2>  <answer 1|2>", in file order.
  const wgLines = [
    ...wgLog.matchAll(/^(\d+)\t(\d+\.\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+([12])\s+([12])$/gm),
  ].map((m) => ({
    n: Number(m[1]),
    acc: m[2],
    scores: [Number(m[3]), Number(m[4])],
    pick: Number(m[5]) - 1,
    answer: Number(m[6]) - 1,
  }));
  const final = /Final Winogrande score\((\d+) tasks\): (\d+\.\d+) \+\/- (\d+\.\d+)/.exec(wgLog);
  if (hsLines.length !== hellaswag.length || wgLines.length !== winogrande.length || !final) {
    throw new Error(`${name}: unexpected llama-perplexity output (see ${dir}/*-${name}.log)`);
  }
  const reference = {
    model: name,
    command:
      "llama-perplexity -m <model> -c 256 -b 256 -t 2 --hellaswag --hellaswag-tasks N -f hellaswag.txt | --winogrande -f winogrande.csv",
    hellaswag: {
      // order[k]: the item (index into hellaswag.jsonl) of the k-th printed line.
      order,
      lines: hsLines,
    },
    winogrande: {
      lines: wgLines,
      final: { tasks: Number(final[1]), score: final[2], sigma: final[3] },
    },
  };
  writeFileSync(join(dir, `reference-${name}.json`), `${JSON.stringify(reference, null, 1)}\n`);
  console.log(
    `${name}: hellaswag final ${hsLines.at(-1)?.acc}%, winogrande ${final[2]} over ${final[1]} tasks`,
  );
}
