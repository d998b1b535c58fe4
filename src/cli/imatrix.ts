import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { readGguf } from "../../lib/gguf/reader.js";
import { InputError } from "../errors.js";
import { writeImatrix } from "../gguf/imatrix-file.js";
import { collectImatrixPass } from "../orchestrator/imatrix-session.js";
import type { Backend } from "../plan/schema.js";
import { resolveRunner } from "../runner-client/registry.js";
import { perplexityText } from "../scoring/perplexity.js";
import { readTextFile } from "../yaml/source.js";

interface ImatrixArgs {
  model: string;
  text: string;
  ctx: number;
  chunks: number | undefined;
  out: string;
  backend: Backend;
  "f32-inputs": boolean;
  json: boolean;
}

const DESCRIBE =
  "Importance matrix of a GGUF model over a calibration text (llama-imatrix's), for quantize --imatrix";

export const imatrixCommand: CommandModule<object, ImatrixArgs> = {
  command: "imatrix <model> <text>",
  describe: DESCRIBE,
  builder: (y) =>
    y
      .positional("model", { type: "string", describe: "GGUF model file", demandOption: true })
      .positional("text", {
        type: "string",
        describe: "Calibration text (UTF-8)",
        demandOption: true,
      })
      .option("ctx", {
        type: "number",
        default: 512,
        describe: "Chunk length in tokens (llama-imatrix -c)",
      })
      .option("chunks", {
        type: "number",
        describe: "At most this many chunks (llama-imatrix --chunks); default all",
      })
      .option("out", {
        type: "string",
        default: "imatrix.gguf",
        describe: "Output file, llama-imatrix's GGUF format",
      })
      .option("backend", {
        choices: ["webgpu"] as Backend[],
        default: "webgpu" as Backend,
        describe: "Compute backend (the WebGPU runner collects it on the GPU)",
      })
      .option("f32-inputs", {
        type: "boolean",
        default: false,
        describe:
          "Keep F16 matmuls' inputs in f32 (the WebGPU runner's own numerics) instead of rounding them to f16 as llama.cpp's CPU backend does",
      })
      .option("json", { type: "boolean", default: false, describe: "Print a JSON summary" })
      .example("$0 imatrix model-f16.gguf calib.txt --ctx 512 --out model.imatrix.gguf", "")
      .example(
        "$0 quantize model-f16.gguf --type Q4_K_M --imatrix model.imatrix.gguf",
        "then quantize with it",
      )
      .epilog(
        "As llama-imatrix: the text tokenized once with BOS, chunks of --ctx tokens with the first " +
          "of each set to BOS, every token counted; per weight matrix of the layers (not token_embd, " +
          "not output) the sum of squared inputs per column and the token count. Progress with ETA on stderr.",
      ),
  handler: async (args) => {
    if (!Number.isInteger(args.ctx) || args.ctx < 16) {
      throw new InputError("BAD_USAGE", `--ctx must be an integer ≥ 16, got ${args.ctx}`);
    }
    if (args.chunks !== undefined && !(Number.isInteger(args.chunks) && args.chunks >= 1)) {
      throw new InputError("BAD_USAGE", `--chunks must be an integer ≥ 1, got ${args.chunks}`);
    }
    const modelPath = resolve(args.model);
    const textPath = resolve(args.text);
    const text = perplexityText(readTextFile(textPath, "BAD_INPUT"));
    // Not a GGUF: exit 2 before a runner starts (no sha256: the runner reads the file anyway).
    await readGguf(modelPath);
    const started = performance.now();
    let chunkStart = started;
    let shown = 0;
    const pass = await collectImatrixPass(
      {
        command: resolveRunner(args.backend, undefined),
        load: {
          model: modelPath,
          backend: args.backend,
          contextSize: args.ctx,
          seed: 0,
          threads: 0,
        },
        loadTimeoutMs: 600_000,
      },
      text,
      {
        ctx: args.ctx,
        chunks: args.chunks,
        location: textPath,
        f16Inputs: !args["f32-inputs"],
        onTokenized: (tokens, chunks) => {
          log(`${tokens} tokens, ${chunks} chunks of ${args.ctx}`);
          chunkStart = performance.now();
        },
        onChunk: (done, total) => {
          // The first chunk, then at most one line a second, and the last.
          const now = performance.now();
          if (done > 1 && done < total && now - shown < 1000) return;
          shown = now;
          log(progressLine(done, total, chunkStart));
        },
      },
    );
    await writeImatrix(args.out, {
      datasets: [args.text],
      chunkCount: pass.chunks,
      chunkSize: args.ctx,
      matrices: pass.matrices,
    });
    const summary = {
      out: resolve(args.out),
      matrices: pass.matrices.length,
      chunks: pass.chunks,
      ctx: args.ctx,
      tokens: pass.tokenCount,
      device: pass.loaded.device,
      eval_seconds: pass.evalSeconds,
      seconds: (performance.now() - started) / 1000,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else log(`wrote ${summary.matrices} matrices over ${pass.chunks} chunks to ${args.out}`);
  },
};

const log = (line: string) => process.stderr.write(`${line}\n`);

/** `[done/total] s elapsed, ETA s`: the rate so far carried over the chunks left. */
export function progressLine(done: number, total: number, since: number): string {
  const elapsed = (performance.now() - since) / 1000;
  const eta = (elapsed / done) * (total - done);
  return `[${done}/${total}] ${elapsed.toFixed(1)} s, ETA ${eta.toFixed(1)} s`;
}
