import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { InputError } from "../errors.js";
import { tensorFormat } from "../gguf/quantize/formats.js";
import { MODES, type Mode } from "../sensitivity/assign.js";
import { groupTensors, typeName } from "../sensitivity/groups.js";
import { formatRankedTable, rankResults } from "../sensitivity/ranking.js";
import { storeSensitivity, writeSensitivityPages } from "../sensitivity/record.js";
import { type GroupProgress, measureBaseline, measureGroups } from "../sensitivity/sensitivity.js";
import { formatSeconds, type PassArgs, passOptions, passSetup } from "./sensitivity-setup.js";

interface SensitivityArgs extends PassArgs {
  type: string;
  mode: Mode;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** A ggml tensor type the quantizer writes, by name (q4_k, q8_0, …). */
export function parseTensorTypeName(option: string, name: string): number {
  const format = tensorFormat(name);
  if (!format || format.blockSize === 1) {
    throw new InputError(
      "BAD_USAGE",
      `${option}: "${name}" is not a quantized tensor type qbench writes (q4_0, q4_k, q5_k, q6_k, q8_0, iq4_xs, …)`,
    );
  }
  return format.type;
}

/** One line per group done: its figures, the time so far and what is left. */
export function progressLine(p: GroupProgress): string {
  const f = p.result.figures;
  return (
    `[${p.done}/${p.total}] ${typeName(p.result.type)} ${p.result.group.name}: KLD ${f.meanKld.toExponential(3)}, ` +
    `ppl ratio ${f.pplRatio.toFixed(4)}${p.result.reused ? " (same file as another type)" : ""} · ` +
    `${formatSeconds(p.elapsedSeconds)} elapsed, ETA ${formatSeconds(p.etaSeconds)}`
  );
}

export const sensitivityCommand: CommandModule<object, SensitivityArgs> = {
  command: "sensitivity <model> <text>",
  describe: "Per layer, tensor or role: the KLD and ppl ratio when only that group is quantized",
  builder: (y) =>
    passOptions(y, "layer")
      .option("type", {
        type: "string",
        default: "q4_k",
        describe: "ggml type the groups are quantized to",
      })
      .option("mode", {
        choices: MODES,
        default: "only" as Mode,
        describe: "only: quantize the group alone; except: quantize everything but the group",
      })
      .example(
        "$0 sensitivity model-f16.gguf calib.txt --type q4_k --by tensor --ctx 512 --chunks 20",
        "",
      )
      .epilog(
        "The source's top-K log-probs are computed once and every group's variant (written by qbench's " +
          "quantizer into a temporary folder, deleted after) is compared with them. Progress with ETA on " +
          "stderr; a ranked table, then one JSON line on stdout; results stored in --db; an HTML page and " +
          "PNG heat maps (layers × roles) in --out-dir.",
      ),
  handler: async (args) => {
    const type = parseTensorTypeName("--type", args.type);
    const startedAt = new Date();
    const started = performance.now();
    const setup = await passSetup(args, log);
    log(`source ${setup.model}: the baseline pass`);
    const baseline = await measureBaseline(setup);
    log(
      baseline.exact
        ? `KLD exact: the source's top-${setup.topK} covers ${(100 * baseline.coverage).toFixed(2)} % of its mass, so each variant's runner evaluates the source in lockstep`
        : `KLD against the source's top-${setup.topK}, computed once (covering ${(100 * baseline.coverage).toFixed(2)} % of its mass${baseline.coverage < 0.999 ? ": a lower bound" : ""})`,
    );
    const groups = groupTensors(baseline.tensors, args.by);
    const results = await measureGroups(baseline, groups, type, args.mode, {
      onGroup: (p) => log(progressLine(p)),
    });
    const seconds = (performance.now() - started) / 1000;
    const record = {
      command: "sensitivity" as const,
      baseline,
      textPath: resolve(args.text),
      grouping: args.by,
      mode: args.mode,
      byType: [results],
      backend: args.backend,
      startedAt,
      seconds,
    };
    const db = resolve(args.db);
    const id = await storeSensitivity(db, record);
    const pages = await writeSensitivityPages(
      resolve(args["out-dir"]),
      `sensitivity-${id}`,
      record,
    );
    process.stdout.write(`${formatRankedTable(results)}\n\n`);
    const ranked = rankResults(results);
    process.stdout.write(
      `${JSON.stringify({
        id,
        db,
        html: pages.html,
        png: pages.png,
        type: typeName(type),
        by: args.by,
        mode: args.mode,
        kld_method: baseline.exact ? "exact" : "top-k",
        kld_is_bound: !baseline.exact,
        baseline_mass_covered: setup.kld === "exact" ? null : baseline.coverage,
        baseline_ppl: baseline.ppl,
        baseline_seconds: baseline.pass.seconds,
        groups: ranked.map((r) => ({
          group: r.group.name,
          mean_kld: r.figures.meanKld,
          mean_kld_error: r.figures.meanKldError,
          ppl_ratio: r.figures.pplRatio,
          same_top_pct: r.figures.sameTopPct,
          quantize_seconds: r.quantizeSeconds,
          pass_seconds: r.passSeconds,
        })),
        seconds,
      })}\n`,
    );
  },
};
