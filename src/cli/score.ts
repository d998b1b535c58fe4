import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { InputError } from "../errors.js";
import { DEFAULT_ROUGE_TYPES, type RougeType, scoreRouge } from "../scoring/rouge.js";
import { readJsonl } from "../suites/load.js";

interface ScoreArgs {
  metric: string;
  file: string;
  stem: boolean;
  types: string;
}

export const scoreCommand: CommandModule<object, ScoreArgs> = {
  command: "score <metric> <file>",
  describe: "Score prediction/reference pairs (JSONL) with a metric; one JSON line out per line in",
  builder: (y) =>
    y
      .positional("metric", { type: "string", choices: ["rouge"], demandOption: true })
      .positional("file", {
        type: "string",
        describe: 'JSONL, one {"prediction": …, "reference": …} per line',
        demandOption: true,
      })
      .option("stem", {
        type: "boolean",
        default: false,
        describe: "Porter-stem tokens longer than 3 characters",
      })
      .option("types", {
        type: "string",
        default: DEFAULT_ROUGE_TYPES.join(","),
        describe: "ROUGE types",
      })
      .example(
        "$0 score rouge pairs.jsonl --stem",
        "rouge-score's figures, one JSON object per line",
      ),
  handler: (args) => {
    const file = resolve(args.file);
    const types = args.types.split(",").map((t) => t.trim()) as RougeType[];
    for (const t of types) {
      if (!/^rouge([1-9]|L|Lsum)$/.test(t))
        throw new InputError("BAD_USAGE", `unknown ROUGE type "${t}"`);
    }
    const out: string[] = [];
    for (const { item, location } of readJsonl(file)) {
      const { prediction, reference } = item;
      if (typeof prediction !== "string" || typeof reference !== "string") {
        throw new InputError(
          "BAD_INPUT",
          'each line needs string fields "prediction" and "reference"',
          {
            location,
          },
        );
      }
      out.push(JSON.stringify(scoreRouge(prediction, reference, { types, stem: args.stem })));
    }
    process.stdout.write(out.length > 0 ? `${out.join("\n")}\n` : "");
  },
};
