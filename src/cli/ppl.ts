import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { InputError } from "../errors.js";
import { checkModel } from "../plan/check-models.js";
import { autoThreads } from "../plan/load.js";
import { Backend } from "../plan/schema.js";
import { readTextFile } from "../plan/yaml-source.js";
import { resolveRunner } from "../runner/registry.js";
import { startRunner } from "../runner/start.js";
import {
  combinePerplexity,
  type NllSums,
  nllSums,
  perplexityChunks,
  perplexityText,
} from "../scoring/perplexity.js";

interface PplArgs {
  model: string;
  text: string;
  ctx: number;
  backend: Backend;
  threads: string;
}

export const pplCommand: CommandModule<object, PplArgs> = {
  command: "ppl <model> <text>",
  describe: "Perplexity of a GGUF model on a text file, by llama-perplexity's method",
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
      .example("$0 ppl model.gguf wiki.test.raw --ctx 512 --backend cpu", "")
      .epilog(
        "Chunks of --ctx tokens, the first token of each set to BOS, only the second half of each chunk " +
          "scored; progress on stderr; the last stdout line is one JSON object " +
          '{"ppl", "ppl_error", "tokens", "chunks", "ctx", …}.',
      ),
  handler: async (args) => {
    const modelPath = resolve(args.model);
    const textPath = resolve(args.text);
    if (!Number.isInteger(args.ctx) || args.ctx < 8) {
      throw new InputError("BAD_USAGE", `--ctx must be an integer ≥ 8, got ${args.ctx}`);
    }
    const threads = args.threads === "auto" ? undefined : Number(args.threads);
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0)) {
      throw new InputError(
        "BAD_USAGE",
        `--threads must be a number ≥ 0 or auto, got ${args.threads}`,
      );
    }
    const text = perplexityText(readTextFile(textPath, "BAD_INPUT"));
    const model = await checkModel(modelPath);
    const started = performance.now();
    const { client, loaded } = await startRunner(
      resolveRunner(args.backend, undefined),
      {
        model: modelPath,
        backend: args.backend,
        contextSize: args.ctx,
        seed: 0,
        threads: threads ?? autoThreads(model.summary.fileSize),
      },
      600_000,
    );
    try {
      const { tokens } = await client.request("tokenize", { text, addBos: true });
      const chunks = perplexityChunks(tokens, args.ctx, loaded.addBos ? loaded.bos : null);
      if (chunks.length === 0) {
        throw new InputError(
          "BAD_INPUT",
          `the text has ${tokens.length} tokens; --ctx ${args.ctx} needs at least ${args.ctx}`,
          { location: textPath },
        );
      }
      process.stderr.write(`${tokens.length} tokens, ${chunks.length} chunks of ${args.ctx}\n`);
      const parts: NllSums[] = [];
      const evalStarted = performance.now();
      for (const [i, chunk] of chunks.entries()) {
        const out = await client.request("evaluate", {
          tokens: chunk.tokens,
          scoreFrom: chunk.scoreFrom,
          topK: 0,
        });
        parts.push(nllSums(out.scored.map((s) => s.logprob)));
        const so_far = combinePerplexity(parts).ppl;
        process.stderr.write(`[${i + 1}/${chunks.length}] ppl ${so_far.toFixed(4)}\n`);
      }
      const evalSeconds = (performance.now() - evalStarted) / 1000;
      const estimate = combinePerplexity(parts);
      const result = {
        model: modelPath,
        ppl: estimate.ppl,
        ppl_error: estimate.pplError,
        tokens: tokens.length,
        scored_tokens: estimate.tokens,
        chunks: chunks.length,
        ctx: args.ctx,
        backend: loaded.backend,
        eval_seconds: evalSeconds,
        tokens_per_second: (chunks.length * args.ctx) / evalSeconds,
        seconds: (performance.now() - started) / 1000,
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      await client.stop();
    }
  },
};
