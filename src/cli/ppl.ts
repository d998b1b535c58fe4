import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { InputError, RunnerFailure } from "../errors.js";
import { scorePerplexityText, type TextScores } from "../orchestrator/ppl-session.js";
import { checkModel } from "../plan/check-models.js";
import { Backend } from "../plan/schema.js";
import { concatFloat32 } from "../scoring/concat.js";
import { comparePerplexity, summarizeKld, TIGHT_COVERAGE } from "../scoring/kld.js";
import { combinePerplexity, perplexityText } from "../scoring/perplexity.js";
import { readTextFile } from "../yaml/source.js";
import { runnerSpecFor } from "./runner-spec.js";

interface PplArgs {
  model: string;
  text: string;
  ctx: number;
  backend: Backend;
  threads: string;
  baseline: string | undefined;
  "top-k": number;
  kld: KldMethod;
  "batch-chunks": string;
}

const DESCRIBE =
  "Perplexity of a GGUF model on a text file by llama-perplexity's method; KLD vs a baseline";

export const pplCommand: CommandModule<object, PplArgs> = {
  command: "ppl <model> <text>",
  describe: DESCRIBE,
  builder: (y) =>
    y
      .positional("model", { type: "string", describe: "GGUF model file", demandOption: true })
      .positional("text", { type: "string", describe: "UTF-8 text file", demandOption: true })
      .option("ctx", {
        type: "number",
        default: 512,
        describe: "Chunk length in tokens (llama-perplexity -c)",
      })
      .option("backend", {
        choices: Backend.options,
        default: "auto" as Backend,
        describe: "Compute backend",
      })
      .option("threads", { type: "string", default: "auto", describe: "CPU threads, or auto" })
      .option("baseline", {
        type: "string",
        describe: "Baseline GGUF: adds KLD, same-top % and the ppl ratio",
      })
      .option("top-k", {
        type: "number",
        default: 512,
        describe: "Baseline log-probs kept per token for KLD",
      })
      .option("batch-chunks", {
        type: "string",
        default: "1",
        describe:
          "Chunks per engine batch (evaluateBatch, as parallel sequences): 1 evaluates each chunk " +
          "alone, as llama-perplexity -b <ctx> does (the references qbench is checked against); " +
          "auto: min(2048/ctx, cores, 16), as llama-perplexity's default -b 2048 packs them — " +
          "the engine then rounds differently (stories260K Q4_0 ctx 64: 4.9168 vs 4.9115)",
      })
      .option("kld", {
        choices: KLD_METHODS,
        default: "auto" as KldMethod,
        describe:
          "exact: the model's runner evaluates the baseline in lockstep (whole vocabulary); " +
          "top-k: against the baseline's stored top-K, a lower bound; auto: top-k where the kept " +
          `entries cover ≥ ${100 * TIGHT_COVERAGE} % of the baseline's mass, else exact`,
      })
      .example("$0 ppl model-q4_0.gguf wiki.test.raw --ctx 512 --backend cpu", "perplexity")
      .example(
        "$0 ppl model-q4_0.gguf text.txt --ctx 128 --baseline model-f16.gguf",
        "and KLD vs F16",
      )
      .epilog(
        "Chunks of --ctx tokens, the first token of each set to BOS, only the second half of each chunk " +
          "scored; progress on stderr; the last stdout line is one JSON object " +
          '{"ppl", "ppl_error", "tokens", "chunks", "ctx", …} and, with --baseline, ' +
          '"baseline_ppl", "ppl_ratio", "mean_kld", "p99_kld", "same_top_pct", ….',
      ),
  handler: async (args) => {
    const { threads, batchChunks } = checkArgs(args);
    const modelPath = resolve(args.model);
    const textPath = resolve(args.text);
    const text = perplexityText(readTextFile(textPath, "BAD_INPUT"));
    const model = await checkModel(modelPath);
    const baselinePath = args.baseline === undefined ? undefined : resolve(args.baseline);
    const baselineModel = baselinePath === undefined ? undefined : await checkModel(baselinePath);
    const started = performance.now();
    const spec = runnerSpecFor({ backend: args.backend, ctx: args.ctx, threads });
    // --kld exact needs no pass of its own over the baseline: the model's runner evaluates it in
    // lockstep, and its log-probs come back with every position. auto decides from a top-K pass.
    const baseline =
      baselinePath && baselineModel && args.kld !== "exact"
        ? await scorePerplexityText(spec(baselinePath, baselineModel.summary.fileSize), text, {
            ctx: args.ctx,
            topK: args["top-k"],
            onTokenized: (t) =>
              log(`baseline ${baselinePath}: ${t.tokenCount} tokens, ${t.chunks.length} chunks`),
            onChunk: (done, total, ppl) => log(`[baseline ${done}/${total}] ppl ${ppl.toFixed(4)}`),
          })
        : undefined;
    const coverage = baseline ? baselineCoverage(baseline) : undefined;
    const exact =
      baselinePath !== undefined &&
      (args.kld === "exact" || (args.kld === "auto" && (coverage ?? 0) < TIGHT_COVERAGE));
    if (baselinePath) {
      log(
        exact
          ? `KLD: exact, the baseline ${baselinePath} evaluated in lockstep over the whole vocabulary`
          : `KLD: against the baseline's top-${args["top-k"]} (covering ${fmtPct(coverage)} of its mass)`,
      );
    }
    const modelSpec = spec(modelPath, model.summary.fileSize);
    if (exact) modelSpec.load.reference = baselinePath;
    const scores = await scorePerplexityText(modelSpec, text, {
      ctx: args.ctx,
      topK: 0,
      // Lockstep: the reference is the baseline, on the model's own tokens (the runner refuses a
      // reference that tokenizes the text otherwise).
      baseline: exact ? undefined : baseline,
      reference: exact,
      batchChunks,
      onTokenized: ({ tokenCount, chunks }) => {
        if (chunks.length === 0) {
          throw new InputError(
            "BAD_INPUT",
            `the text has ${tokenCount} tokens; --ctx ${args.ctx} needs at least ${args.ctx}`,
            { location: textPath },
          );
        }
        log(`${tokenCount} tokens, ${chunks.length} chunks of ${args.ctx}`);
      },
      onChunk: (done, total, ppl) => log(`[${done}/${total}] ppl ${ppl.toFixed(4)}`),
    }).catch((error: unknown) => {
      throw asInputError(error, modelPath);
    });
    const result = {
      model: modelPath,
      ...pplFigures(scores, args.ctx),
      ...(baselinePath
        ? {
            baseline: baselinePath,
            ...kldFigures(scores, exact ? referenceLogprobs(scores) : baselineLogprobs(baseline)),
            kld_method: exact ? "exact" : "top-k",
            kld_is_bound: !exact,
            ...(exact ? {} : { top_k: args["top-k"], baseline_mass_covered: coverage }),
          }
        : {}),
      seconds: (performance.now() - started) / 1000,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
};

const log = (line: string) => process.stderr.write(`${line}\n`);

const KLD_METHODS = ["auto", "exact", "top-k"] as const;
type KldMethod = (typeof KLD_METHODS)[number];

/** The baseline's mass its kept top-K entries cover, averaged over its scored tokens. */
function baselineCoverage(baseline: TextScores): number {
  let mass = 0;
  let count = 0;
  for (const chunk of baseline.scored) {
    if (chunk.topk) {
      for (const lp of chunk.topk.logprobs) mass += Math.exp(lp);
      count += chunk.topk.counts.length;
    }
  }
  return count > 0 ? mass / count : 0;
}

const fmtPct = (x: number | undefined) => `${((x ?? 0) * 100).toFixed(2)} %`;

function checkArgs(args: PplArgs): {
  threads: number | undefined;
  batchChunks: number | "auto";
} {
  if (!Number.isInteger(args.ctx) || args.ctx < 8) {
    throw new InputError("BAD_USAGE", `--ctx must be an integer ≥ 8, got ${args.ctx}`);
  }
  if (!Number.isInteger(args["top-k"]) || args["top-k"] < 1) {
    throw new InputError("BAD_USAGE", `--top-k must be an integer ≥ 1, got ${args["top-k"]}`);
  }
  const threads = args.threads === "auto" ? undefined : Number(args.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0)) {
    throw new InputError(
      "BAD_USAGE",
      `--threads must be a number ≥ 0 or auto, got ${args.threads}`,
    );
  }
  const batch = args["batch-chunks"];
  const batchChunks = batch === "auto" ? "auto" : Number(batch);
  if (
    batchChunks !== "auto" &&
    !(Number.isInteger(batchChunks) && batchChunks >= 1 && batchChunks <= 16)
  ) {
    throw new InputError("BAD_USAGE", `--batch-chunks must be 1 to 16 or auto, got ${batch}`);
  }
  return { threads, batchChunks };
}

/** The command's contract: a model that tokenizes differently from the baseline is bad input. */
function asInputError(error: unknown, modelPath: string): unknown {
  if (!(error instanceof RunnerFailure) || error.runnerCode !== "TOKENIZATION_MISMATCH")
    return error;
  return new InputError(
    "BAD_MODEL",
    "the model tokenizes the text differently from the baseline: KLD needs the same tokens",
    { location: modelPath, cause: error },
  );
}

function pplFigures(scores: TextScores, ctx: number) {
  const logprobs = concatFloat32(scores.scored.map((s) => s.logprobs));
  const estimate = combinePerplexity([
    {
      nllSum: -logprobs.reduce((a, b) => a + b, 0),
      nll2Sum: logprobs.reduce((a, b) => a + b * b, 0),
      count: logprobs.length,
    },
  ]);
  return {
    ppl: estimate.ppl,
    ppl_error: estimate.pplError,
    tokens: scores.tokenCount,
    scored_tokens: estimate.tokens,
    chunks: scores.chunks.length,
    ctx,
    backend: scores.loaded.backend,
    eval_seconds: scores.evalSeconds,
    tokens_per_second: (scores.chunks.length * ctx) / scores.evalSeconds,
  };
}

/** The baseline's log-probs from its own pass. */
function baselineLogprobs(baseline: TextScores | undefined): Float32Array {
  if (!baseline) throw new Error("top-K KLD without a baseline pass");
  return concatFloat32(baseline.scored.map((s) => s.logprobs));
}

/**
 * The baseline's log-probs from the lockstep pass: the reference's exact log-probability of each
 * token (llama-perplexity's KLD mode takes the baseline's from its 16-bit base file, within one
 * grid step of these).
 */
function referenceLogprobs(scores: TextScores): Float32Array {
  return concatFloat32(
    scores.scored.map((s) => {
      if (!s.referenceLogprobs)
        throw new Error("the lockstep pass returned no reference log-probs");
      return s.referenceLogprobs;
    }),
  );
}

function kldFigures(scores: TextScores, baseline: Float32Array) {
  const cmp = comparePerplexity(concatFloat32(scores.scored.map((s) => s.logprobs)), baseline);
  const kld = summarizeKld(
    concatFloat32(scores.scored.map((s) => s.kld ?? new Float32Array())),
    Uint8Array.from(scores.scored.flatMap((s) => Array.from(s.sameTop ?? []))),
  );
  return {
    baseline_ppl: cmp.baselinePpl,
    baseline_ppl_error: cmp.baselinePplError,
    ppl_ratio: cmp.ratio,
    ppl_ratio_error: cmp.ratioError,
    ln_ppl_ratio: cmp.lnRatio,
    ln_ppl_ratio_error: cmp.lnRatioError,
    delta_ppl: cmp.delta,
    delta_ppl_error: cmp.deltaError,
    mean_kld: kld.meanKld,
    mean_kld_error: kld.meanKldError,
    median_kld: kld.medianKld,
    p90_kld: kld.p90Kld,
    p95_kld: kld.p95Kld,
    p99_kld: kld.p99Kld,
    max_kld: kld.maxKld,
    p99_9_kld: kld.p999Kld,
    p10_kld: kld.p10Kld,
    p5_kld: kld.p5Kld,
    p1_kld: kld.p1Kld,
    p0_1_kld: kld.p01Kld,
    min_kld: kld.minKld,
    same_top_pct: kld.sameTopPct,
    same_top_pct_error: kld.sameTopError,
  };
}
