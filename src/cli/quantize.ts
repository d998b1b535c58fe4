import { basename, dirname, join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { InputError, messageOf } from "../errors.js";
import {
  FORMATS,
  QUANTIZE_TYPE_NAMES,
  quantizeTarget,
  tensorFormat,
} from "../gguf/quantize/formats.js";
import { readImatrix } from "../gguf/quantize/imatrix.js";
import type { TensorTypeOverride } from "../gguf/quantize/mix.js";
import { type QuantizeResult, quantizeGguf } from "../gguf/quantize/quantize-file.js";

interface QuantizeArgs {
  input: string;
  type: string;
  out: string | undefined;
  "allow-requantize": boolean;
  pure: boolean;
  "tensor-type": string[] | undefined;
  "output-tensor-type": string | undefined;
  "token-embedding-type": string | undefined;
  "leave-output-tensor": boolean;
  imatrix: string | undefined;
  threads: string;
  json: boolean;
}

/** Files at least this big get progress lines on stderr. */
export const PROGRESS_MIN_BYTES = 64 << 20;
const MiB = 1 << 20;

/**
 * Progress on stderr: one line rewritten in place on a terminal, else a line every 2 s (CI logs).
 * Returns the update function and `done`, which ends the line.
 */
export function stderrProgress(label: string): {
  /** `final` (default: done reached total) forces a line and ends updates. */
  update: (done: number, total: number, extra: string, final?: boolean) => void;
  done: () => void;
} {
  const started = performance.now();
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  let finished = false;
  return {
    update(done, total, extra, final = done >= total) {
      const now = performance.now();
      if (finished || (now - last < (tty ? 200 : 2000) && !final)) return;
      last = now;
      finished = final;
      const seconds = Math.max((now - started) / 1000, 1e-3);
      const line = `${label}: ${extra}${(done / MiB).toFixed(0)}/${(total / MiB).toFixed(0)} MiB, ${(done / MiB / seconds).toFixed(0)} MB/s`;
      process.stderr.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
      shown = true;
    },
    done() {
      if (shown && tty) process.stderr.write("\n");
    },
  };
}

/** `<dir>/<name without .gguf>-<type>.gguf` beside the input. */
function defaultOutput(input: string, type: string): string {
  const name = basename(input).replace(/\.gguf$/i, "");
  return join(dirname(input), `${name}-${type}.gguf`);
}

function summaryLine(r: QuantizeResult): string {
  const converted = Object.entries(r.converted)
    .map(([type, n]) => `${n} → ${type}`)
    .join(", ");
  const fellBack = Object.entries(r.fallbackTypes)
    .map(([type, n], i) => `${n}${i === 0 ? " fell back" : ""} to ${type}`)
    .join(", ");
  const fallback =
    r.fallbacks.length > 0 ? ` (${fellBack}: rows not a multiple of the block size)` : "";
  return (
    `qbench quantize: wrote ${r.output} (${r.target}): ${r.tensorCount} tensors, ${converted || "none converted"}${fallback}, ${r.copied} copied; ` +
    `${(r.inputBytes / MiB).toFixed(2)} MiB → ${(r.outputBytes / MiB).toFixed(2)} MiB in ${r.seconds.toFixed(2)} s`
  );
}

/** A ggml type option (--output-tensor-type, --token-embedding-type) among those qbench writes. */
export function parseTypeOption(option: string, value: string): number {
  const format = tensorFormat(value);
  if (format === undefined) {
    throw new InputError(
      "BAD_USAGE",
      `--${option} "${value}": unknown type; qbench writes ${[...FORMATS.values()].map((f) => f.name).join(", ")}`,
    );
  }
  return format.type;
}

/** llama-quantize's parse_tensor_type: NAME=TYPE split at the first `=`, the pattern lower-cased. */
export function parseTensorType(option: string): TensorTypeOverride {
  const at = option.indexOf("=");
  const usage = (why: string, cause?: unknown) =>
    new InputError(
      "BAD_USAGE",
      `--tensor-type "${option}": ${why} (expected PATTERN=TYPE, e.g. attn_v=q8_0)`,
      { cause },
    );
  if (at < 0) throw usage("no =");
  if (at === 0) throw usage("missing tensor name pattern");
  const typeName = option.slice(at + 1);
  if (typeName === "") throw usage("missing quantization type");
  const format = tensorFormat(typeName);
  if (format === undefined) {
    throw usage(
      `unknown type; qbench writes ${[...FORMATS.values()].map((f) => f.name).join(", ")}`,
    );
  }
  try {
    return { pattern: new RegExp(option.slice(0, at).toLowerCase()), type: format.type };
  } catch (error) {
    throw usage(`bad regular expression: ${messageOf(error)}`, error);
  }
}

export const quantizeCommand: CommandModule<object, QuantizeArgs> = {
  command: "quantize <input>",
  describe:
    "Quantize an F32/F16/BF16 GGUF model; byte-identical to llama-quantize (its mixes, --pure, --imatrix, --tensor-type)",
  builder: (y) =>
    y
      .positional("input", { type: "string", describe: "GGUF model file", demandOption: true })
      .option("type", {
        type: "string",
        demandOption: true,
        describe: `Target file type, as llama-quantize names it: ${QUANTIZE_TYPE_NAMES.join(", ")}`,
      })
      .option("pure", {
        type: "boolean",
        default: false,
        describe:
          "Every quantizable tensor gets the target type (llama-quantize --pure); default: llama-quantize's mix",
      })
      .option("tensor-type", {
        type: "string",
        array: true,
        describe:
          "PATTERN=TYPE: tensors whose name the regex PATTERN finds get TYPE (llama-quantize --tensor-type; first match wins)",
      })
      .option("output-tensor-type", {
        type: "string",
        describe:
          "ggml type of output.weight, whatever the mix or --pure (llama-quantize --output-tensor-type)",
      })
      .option("token-embedding-type", {
        type: "string",
        describe:
          "ggml type of token_embd.weight, whatever the mix or --pure (llama-quantize --token-embedding-type)",
      })
      .option("leave-output-tensor", {
        type: "boolean",
        default: false,
        describe: "Copy output.weight as it is (llama-quantize --leave-output-tensor)",
      })
      .option("imatrix", {
        type: "string",
        describe:
          "Importance matrix from llama-imatrix (GGUF or legacy .dat), as llama-quantize --imatrix",
      })
      .option("out", {
        type: "string",
        describe: "Output file (default: <input without .gguf>-<type>.gguf beside the input)",
      })
      .option("allow-requantize", {
        type: "boolean",
        default: false,
        describe: "Dequantize and re-quantize tensors that are already quantized",
      })
      .option("threads", {
        type: "string",
        default: "auto",
        describe:
          "Threads converting rows, or auto (the cores, up to 8, for inputs of 32 MiB or more)",
      })
      .option("json", {
        type: "boolean",
        default: false,
        describe: "Print the result as one JSON object on stdout",
      })
      .example("$0 quantize model-f16.gguf --type q4_k_m", "writes model-f16-q4_k_m.gguf")
      .example("$0 quantize model-f16.gguf --type q4_0 --pure", "every matrix Q4_0")
      .example("$0 quantize model.gguf --type q8_0 --out model-q8_0.gguf", ""),
  handler: async (args) => {
    const target = quantizeTarget(args.type);
    if (target === undefined) {
      throw new InputError(
        "BAD_USAGE",
        `unsupported quantization type "${args.type}"; qbench quantize writes ${QUANTIZE_TYPE_NAMES.join(", ")}`,
      );
    }
    const threads = args.threads === "auto" ? undefined : Number(args.threads);
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
      throw new InputError(
        "BAD_USAGE",
        `--threads must be auto or a whole number from 1 to 256, not "${args.threads}"`,
      );
    }
    const tensorTypes = (args["tensor-type"] ?? []).map(parseTensorType);
    const typeOption = (name: "output-tensor-type" | "token-embedding-type") => {
      const value = args[name];
      return value === undefined ? undefined : parseTypeOption(name, value);
    };
    const outputTensorType = typeOption("output-tensor-type");
    const tokenEmbeddingType = typeOption("token-embedding-type");
    const imatrix =
      args.imatrix === undefined
        ? undefined
        : { path: args.imatrix, data: await readImatrix(args.imatrix) };
    const input = resolve(args.input);
    const output = resolve(args.out ?? defaultOutput(input, target.name));
    const progress = stderrProgress("qbench quantize");
    const result = await quantizeGguf({
      input,
      output,
      target,
      allowRequantize: args["allow-requantize"],
      pure: args.pure,
      tensorTypes,
      outputTensorType,
      tokenEmbeddingType,
      leaveOutputTensor: args["leave-output-tensor"],
      imatrix,
      threads,
      onProgress: (p) => {
        if (p.bytesTotal >= PROGRESS_MIN_BYTES) {
          const extra = `tensor ${p.tensorsDone}/${p.tensorCount}, `;
          progress.update(p.bytesDone, p.bytesTotal, extra, p.tensorsDone === p.tensorCount);
        }
      },
    }).finally(() => progress.done());
    if (result.imatrixMissing.length > 0) {
      process.stderr.write(
        `qbench quantize: warning: the imatrix has no entry for ${result.imatrixMissing.length} tensor(s), quantized without it as llama-quantize does: ${result.imatrixMissing.join(", ")}\n`,
      );
    }
    process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${summaryLine(result)}\n`);
  },
};
