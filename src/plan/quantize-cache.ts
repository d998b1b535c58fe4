import { existsSync, mkdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { LLAMA_FILE_TYPES } from "../../lib/gguf/ggml-types.js";
import { readGguf } from "../../lib/gguf/reader.js";
import { quantizeTarget } from "../gguf/quantize/formats.js";
import { quantizeGguf } from "../gguf/quantize/quantize-file.js";
import { type CheckedModel, checkModel } from "./check-models.js";
import type { QuantizeType } from "./schema.js";

/**
 * The GGUF for a `quantize:` variant: the source itself when it already is that type, else a
 * file qbench's quantizer made once into `cacheDir/<source sha256>/<type>.gguf` and reuses.
 */
export async function quantizedModel(
  source: string,
  type: QuantizeType,
  cacheDir: string,
  log: (line: string) => void,
  /** Reads and hashes a model; a caller that checks several variants passes one that remembers. */
  check: (path: string) => Promise<CheckedModel> = checkModel,
): Promise<string> {
  const target = quantizeTarget(type);
  if (!target) throw new Error(`no quantizer for ${type}`);
  const checked = await check(source);
  if (checked.summary.fileType === LLAMA_FILE_TYPES.get(target.fileType)?.name) return source;
  const out = join(cacheDir, checked.sha256, `${type}.gguf`);
  if (existsSync(out)) {
    try {
      await readGguf(out);
      return out;
    } catch {
      // A damaged cache entry is made again, not trusted.
      rmSync(out, { force: true });
    }
  }
  mkdirSync(join(cacheDir, checked.sha256), { recursive: true });
  const started = performance.now();
  log(`quantizing ${basename(source)} → ${type} (cached in ${out})`);
  await quantizeGguf({ input: source, output: out, target });
  log(`quantized ${type} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return out;
}
