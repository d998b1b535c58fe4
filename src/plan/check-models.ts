import { type GgufFile, readGguf } from "../../lib/gguf/reader.js";
import { type KvShape, kvCacheProblem, kvShapeOf } from "../capacity/kv-cache.js";
import { InputError } from "../errors.js";
import { type GgufSummary, sha256File, summarizeGguf } from "../gguf/summary.js";

export interface CheckedModel {
  path: string;
  sha256: string;
  summary: GgufSummary;
  /** The KV cache's shape, for models whose metadata has the attention hyper-parameters. */
  kv?: KvShape;
}

/**
 * Refuses a missing, truncated or non-GGUF model before any runner starts: reads the header
 * and tensor table, checks that every tensor's bytes are inside the file, and hashes it.
 */
export async function checkModel(
  path: string,
  onProgress?: (bytes: number) => void,
): Promise<CheckedModel> {
  const file = await readGguf(path);
  const summary = summarizeGguf(file);
  if (summary.tensorCount === 0) {
    throw new InputError("BAD_MODEL", "the GGUF file has no tensors", { location: path });
  }
  const sha256 = await sha256File(path, onProgress);
  const kv = attentionShape(file);
  return { path, sha256, summary, ...(kv ? { kv } : {}) };
}

function attentionShape(file: GgufFile): KvShape | undefined {
  try {
    return kvShapeOf(file);
  } catch {
    // Not a model with attention hyper-parameters (a vocabulary-only file, another family).
    return undefined;
  }
}

/** Refuses a KV cache llama.cpp would refuse for this model (exit 2), naming the plan's line. */
export function checkKvCache(
  model: CheckedModel,
  kvCache: { k: string; v: string } | undefined,
  location: string,
): void {
  if (!kvCache || !model.kv) return;
  const problem = kvCacheProblem(model.kv, kvCache);
  if (problem) throw new InputError("BAD_PLAN", `kvCache: ${problem}`, { location });
}
