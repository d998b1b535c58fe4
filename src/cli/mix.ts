import { basename, dirname, join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { readGguf } from "../../lib/gguf/reader.js";
import { InputError } from "../errors.js";
import { quantizeGguf } from "../gguf/quantize/quantize-file.js";
import { recipeArguments, targetFor, toOverrides } from "../sensitivity/assign.js";
import { parseBudget } from "../sensitivity/budget.js";
import { groupTensors, typeName } from "../sensitivity/groups.js";
import { nearbyStockMixes, planMix, planSnippet } from "../sensitivity/mix.js";
import { storeSensitivity, writeSensitivityPages } from "../sensitivity/record.js";
import { type GroupResult, measureBaseline, measureGroups } from "../sensitivity/sensitivity.js";
import { parseTensorTypeName, progressLine } from "./sensitivity.js";
import { formatSeconds, type PassArgs, passOptions, passSetup } from "./sensitivity-setup.js";

interface MixArgs extends PassArgs {
  budget: string;
  types: string;
  out: string | undefined;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export const mixCommand: CommandModule<object, MixArgs> = {
  command: "mix <model> <text>",
  describe:
    "A mixed-precision recipe within a size budget, from each group's measured KLD at each type",
  builder: (y) =>
    passOptions(y, "tensor")
      .option("budget", {
        type: "string",
        demandOption: true,
        describe:
          "4.8bpw (bits per weight), a file size (1.5MiB, 2G) or a stock mix's size (q4_k_m)",
      })
      .option("types", {
        type: "string",
        default: "q4_k,q5_k,q6_k,q8_0",
        describe: "Candidate ggml types per group, comma-separated",
      })
      .option("out", { type: "string", describe: "The mix's GGUF (default: beside the model)" })
      .example("$0 mix model-f16.gguf calib.txt --budget q4_k_m --by tensor --ctx 512", "")
      .epilog(
        "Cost: one source pass, then one pass per group and type (groups × types, less those a fall-back " +
          "makes identical), each a quantization plus one KLD pass. The search is exact for the sum of the " +
          "groups' KLDs (a knapsack over bytes); prints the llama-quantize arguments, writes the GGUF and " +
          "prints a qbench run plan that puts it beside the stock mixes of its size.",
      ),
  handler: async (args) => {
    const types = [
      ...new Set(args.types.split(",").map((t) => parseTensorTypeName("--types", t.trim()))),
    ];
    if (types.length < 2) {
      throw new InputError(
        "BAD_USAGE",
        `--types: name at least two types to choose between, got "${args.types}"`,
      );
    }
    const startedAt = new Date();
    const started = performance.now();
    const setup = await passSetup(args, log);
    const file = await readGguf(setup.model);
    const budget = parseBudget(args.budget, file);
    const baseline = await measureBaseline(setup);
    const groups = groupTensors(baseline.tensors, args.by);
    log(
      `${groups.length} groups × ${types.length} types = ${groups.length * types.length} passes at most ` +
        `(the source's took ${formatSeconds(baseline.pass.seconds)}); KLD ${baseline.exact ? "exact" : `against the source's top-${setup.topK}`}`,
    );
    const cache = new Map<string, GroupResult>();
    const byType: GroupResult[][] = [];
    const offset = { done: 0, total: groups.length * types.length, startedAt: performance.now() };
    for (const type of types) {
      byType.push(
        await measureGroups(baseline, groups, type, "only", {
          cache,
          offset,
          onGroup: (p) => log(progressLine(p)),
        }),
      );
      offset.done += groups.length;
    }
    const plan = planMix(file, baseline.tensors, byType, budget.dataBytes);
    const out = resolve(args.out ?? defaultOutput(setup.model, plan.bpw));
    const base = targetFor(plan.baseType);
    const written = await quantizeGguf({
      input: setup.model,
      output: out,
      target: base,
      pure: true,
      tensorTypes: toOverrides(plan.overrides),
      imatrix: setup.imatrix,
    });
    const seconds = (performance.now() - started) / 1000;
    const record = {
      command: "mix" as const,
      baseline,
      textPath: resolve(args.text),
      grouping: args.by,
      mode: "only" as const,
      byType,
      backend: args.backend,
      startedAt,
      seconds,
    };
    const db = resolve(args.db);
    const id = await storeSensitivity(db, record);
    const pages = await writeSensitivityPages(resolve(args["out-dir"]), `mix-${id}`, record);
    const stock = nearbyStockMixes(file, plan.dataBytes);
    const counts: Record<string, number> = {};
    for (const c of plan.choices) counts[typeName(c.type)] = (counts[typeName(c.type)] ?? 0) + 1;
    process.stdout.write(
      [
        `budget: ${budget.described} = ${budget.dataBytes.toFixed(0)} bytes of tensor data`,
        `mix: ${plan.dataBytes} bytes of tensor data, ${plan.bpw.toFixed(3)} bpw, file ${written.outputBytes} bytes; groups by type: ${JSON.stringify(counts)}`,
        `estimated KLD (Σ of the groups' own): ${plan.estimatedKld.toExponential(3)}`,
        "",
        "llama-quantize arguments:",
        `  llama-quantize ${recipeArguments(plan.overrides, base).join(" ")}`,
        "",
        `written: ${out}`,
        "",
        planSnippet({
          source: setup.model,
          mix: out,
          mixName: `mix-${plan.bpw.toFixed(2)}bpw`,
          stock,
          ctx: setup.ctx,
        }),
      ].join("\n"),
    );
    process.stdout.write(
      `${JSON.stringify({
        id,
        db,
        out,
        html: pages.html,
        png: pages.png,
        budget_data_bytes: budget.dataBytes,
        data_bytes: plan.dataBytes,
        file_bytes: written.outputBytes,
        bpw: plan.bpw,
        estimated_kld: plan.estimatedKld,
        kld_method: baseline.exact ? "exact" : "top-k",
        kld_is_bound: !baseline.exact,
        baseline_mass_covered: setup.kld === "exact" ? null : baseline.coverage,
        base_type: typeName(plan.baseType),
        tensor_types: plan.overrides.map((o) => `${o.pattern}=${typeName(o.type).toLowerCase()}`),
        groups: plan.choices.map((c) => ({
          group: c.group.name,
          type: typeName(c.type),
          kld: c.kld,
        })),
        stock: stock.map((s) => ({ name: s.name, data_bytes: s.dataBytes, bpw: s.bpw })),
        passes: byType.flat().filter((r) => !r.reused).length,
        seconds,
      })}\n`,
    );
  },
};

function defaultOutput(input: string, bpw: number): string {
  const name = basename(input)
    .replace(/\.gguf$/i, "")
    .replace(/-f(16|32)$|-bf16$/i, "");
  return join(dirname(input), `${name}-mix-${bpw.toFixed(2)}bpw.gguf`);
}
