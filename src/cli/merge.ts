import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { mergeShards } from "../store/merge.js";

interface MergeArgs {
  shards: string[];
  out: string;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: "merge <shards..>",
  describe: "Join the shard databases of one plan (qbench run --shard i/n) into one run",
  builder: (y) =>
    y
      .positional("shards", {
        type: "string",
        array: true,
        demandOption: true,
        describe: "Shard databases",
      })
      .option("out", {
        type: "string",
        demandOption: true,
        describe: "New database for the merged run",
      })
      .example("$0 merge shard-*.db --out all.db && qbench gate --db all.db", "")
      .epilog(
        "Refuses shards of different plans, overlaps (two shards with the same slice or item) and gaps (a missing slice).",
      ),
  handler: (args) => {
    const merged = mergeShards(
      args.shards.map((f) => resolve(f)),
      resolve(args.out),
    );
    process.stdout.write(
      `merged ${merged.shards} shards, ${merged.results} results, into ${resolve(args.out)} (run ${merged.runId})\n`,
    );
  },
};
