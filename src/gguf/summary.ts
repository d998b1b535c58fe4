import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { LLAMA_FILE_TYPES } from "../../lib/gguf/ggml-types.js";
import { findNumber, findString, type GgufFile, getString } from "../../lib/gguf/reader.js";
import { InputError, messageOf } from "../errors.js";
import { tensorCategory } from "./quantize/mix.js";

/** One tensor role of the mix (llama-quantize's tensor categories, norms apart). */
export interface RoleSummary {
  tensors: number;
  parameters: number;
  bytes: number;
  bitsPerWeight: number;
  /** Tensor count per ggml type, e.g. `{ "Q6_K": 3, "Q4_K": 5 }`. */
  types: Record<string, number>;
}

/** The role a tensor plays in a quantization mix: llama-quantize's category, with norms and biases apart from `other`. */
export function tensorRole(name: string): string {
  const category = tensorCategory(name);
  if (category !== "other") return category;
  if (name.endsWith("_norm.weight") || name.endsWith("_norm.bias")) return "norm";
  return "other";
}

export interface GgufSummary {
  architecture: string;
  name: string | undefined;
  /** `general.file_type` as its llama.cpp enum name, e.g. `MOSTLY_Q8_0`; undefined when absent. */
  fileType: string | undefined;
  /** What llama.cpp prints for the file type, e.g. `Q4_K - Medium`. */
  fileTypeDescription: string | undefined;
  parameterCount: number;
  fileSize: number;
  /** Bytes of tensor data, padding excluded. */
  tensorBytes: number;
  tensorCount: number;
  tensorTypes: Record<string, { count: number; bytes: number }>;
  bitsPerWeight: number;
  contextLength: number | undefined;
  vocabularySize: number | undefined;
  tokenizerModel: string | undefined;
  embeddingLength: number | undefined;
  blockCount: number | undefined;
  headCount: number | undefined;
  headCountKv: number | undefined;
}

/** A per-layer count (some architectures store head counts as one value per block) reduced to its largest value. */
function findCount(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key);
  if (v?.type !== "array") return findNumber(file, key);
  let max: number | undefined;
  for (const item of v.items) {
    if (typeof item !== "number" && typeof item !== "bigint") {
      throw new InputError("BAD_MODEL", `metadata ${key} must be a number or an array of numbers`, {
        location: file.path,
      });
    }
    max = Math.max(max ?? 0, Number(item));
  }
  return max;
}

/** The mix: per tensor role, the types used and their bits per weight. */
export function summarizeRoles(file: GgufFile): Record<string, RoleSummary> {
  const roles: Record<string, RoleSummary> = {};
  for (const t of file.tensors) {
    const role = tensorRole(t.name);
    const r = roles[role] ?? { tensors: 0, parameters: 0, bytes: 0, bitsPerWeight: 0, types: {} };
    roles[role] = r;
    r.tensors += 1;
    r.parameters += t.elementCount;
    r.bytes += t.byteSize;
    r.types[t.typeName] = (r.types[t.typeName] ?? 0) + 1;
  }
  for (const r of Object.values(roles)) {
    r.bitsPerWeight = r.parameters > 0 ? (8 * r.bytes) / r.parameters : 0;
  }
  return roles;
}

export function summarizeGguf(file: GgufFile): GgufSummary {
  const architecture = getString(file, "general.architecture");
  const tensorTypes: Record<string, { count: number; bytes: number }> = {};
  let parameterCount = 0;
  let tensorBytes = 0;
  for (const t of file.tensors) {
    const entry = tensorTypes[t.typeName] ?? { count: 0, bytes: 0 };
    tensorTypes[t.typeName] = entry;
    entry.count += 1;
    entry.bytes += t.byteSize;
    parameterCount += t.elementCount;
    tensorBytes += t.byteSize;
  }
  const fileTypeId = findNumber(file, "general.file_type");
  const fileType = fileTypeId === undefined ? undefined : LLAMA_FILE_TYPES.get(fileTypeId);
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  return {
    architecture,
    name: findString(file, "general.name"),
    fileType: fileTypeId === undefined ? undefined : (fileType?.name ?? `UNKNOWN_${fileTypeId}`),
    fileTypeDescription: fileType?.description,
    parameterCount,
    fileSize: file.fileSize,
    tensorBytes,
    tensorCount: file.tensors.length,
    tensorTypes,
    bitsPerWeight: parameterCount > 0 ? (8 * tensorBytes) / parameterCount : 0,
    contextLength: findNumber(file, `${architecture}.context_length`),
    vocabularySize: tokens?.type === "array" ? tokens.items.length : undefined,
    tokenizerModel: findString(file, "tokenizer.ggml.model"),
    embeddingLength: findNumber(file, `${architecture}.embedding_length`),
    blockCount: findNumber(file, `${architecture}.block_count`),
    headCount: findCount(file, `${architecture}.attention.head_count`),
    headCountKv: findCount(file, `${architecture}.attention.head_count_kv`),
  };
}

/** Streams the file through SHA-256; `onProgress` gets the running byte count after each chunk. */
export async function sha256File(
  path: string,
  onProgress?: (bytes: number) => void,
): Promise<string> {
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      onProgress?.(bytes);
    }
  } catch (cause) {
    throw new InputError("BAD_MODEL", `cannot read model file: ${messageOf(cause)}`, {
      location: path,
      cause,
    });
  }
  return hash.digest("hex");
}
