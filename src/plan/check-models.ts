import { readGguf } from "../../lib/gguf/reader.js";
import { InputError } from "../errors.js";
import { type GgufSummary, sha256File, summarizeGguf } from "../gguf/summary.js";

export interface CheckedModel {
  path: string;
  sha256: string;
  summary: GgufSummary;
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
  return { path, sha256, summary };
}
