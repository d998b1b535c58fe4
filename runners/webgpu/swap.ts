/**
 * The protocol's `swapWeights`: another file of the loaded model (a variant quantized from the
 * same source) replaces the tensors the caller names; every other weight stays on the GPU as
 * loaded. qbench sensitivity measures each group's variant this way instead of a reload.
 */
import { existsSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { type GgufTensorInfo, readGguf } from "../../lib/gguf/reader.js";
import type { SwapWeightsParams, SwapWeightsResult } from "../../src/runner-client/protocol.js";
import { messageOf, RunnerError } from "../shared/serve.js";
import { BufferLimitError } from "./buffers.js";
import { endCollection } from "./imatrix.js";
import { describeModel, type LlamaModel } from "./model-config.js";
import type { Session } from "./session.js";

export async function swapWeights(
  state: Session,
  params: SwapWeightsParams,
  checkLimits: (model: LlamaModel) => void,
): Promise<SwapWeightsResult> {
  const started = performance.now();
  const { model: path, tensors } = params;
  if (typeof path !== "string" || !Array.isArray(tensors)) {
    throw new RunnerError("BAD_PARAMS", "swapWeights takes { model: path, tensors: [names] }");
  }
  if (!existsSync(path)) throw new RunnerError("MODEL_NOT_FOUND", `model file not found: ${path}`);
  let file: Awaited<ReturnType<typeof readGguf>>;
  let model: LlamaModel;
  try {
    file = await readGguf(path);
    model = describeModel(file);
  } catch (error) {
    throw new RunnerError("BAD_MODEL", `cannot read ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const changed = new Set(tensors);
  const flaw = sameModelFlaw(state.file, { model, tensors: file.tensors }, changed);
  if (flaw) {
    throw new RunnerError("BAD_PARAMS", `${path} cannot replace ${state.file.path}: ${flaw}`);
  }
  checkLimits(model);
  endCollection(state.graph);
  let fh: FileHandle | undefined;
  let read: Set<string>;
  try {
    fh = await open(path, "r");
    ({ read } = await state.graph.swap(model, fh, file.dataOffset, changed));
  } catch (error) {
    const oom = (error as { oom?: boolean }).oom === true || error instanceof BufferLimitError;
    throw new RunnerError(
      oom ? "OUT_OF_MEMORY" : "INTERNAL",
      `swapping in ${path}'s weights: ${messageOf(error)}`,
      { cause: error },
    );
  } finally {
    await fh?.close();
  }
  state.file = { path, model, tensors: file.tensors };
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  let bytes = 0;
  for (const name of read) bytes += byName.get(name)?.byteSize ?? 0;
  return { swapped: read.size, bytes, swapMs: performance.now() - started };
}

/**
 * Why `next` is not the loaded model with only the `changed` tensors replaced, or undefined: its
 * hyper-parameters, its tensors' names and shapes, and every other tensor's type and size must
 * be the loaded file's. (The values of a tensor not named are taken on trust: the caller says
 * which differ.)
 */
export function sameModelFlaw(
  loaded: { model: LlamaModel; tensors: readonly GgufTensorInfo[] },
  next: { model: LlamaModel; tensors: readonly GgufTensorInfo[] },
  changed: ReadonlySet<string>,
): string | undefined {
  const was = loaded.model.config as unknown as Record<string, unknown>;
  const is = next.model.config as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(was), ...Object.keys(is)])) {
    if (JSON.stringify(was[key]) !== JSON.stringify(is[key])) {
      return `its ${key} is ${JSON.stringify(is[key])}, the loaded model's ${JSON.stringify(was[key])}`;
    }
  }
  const old = new Map(loaded.tensors.map((t) => [t.name, t]));
  for (const name of changed) {
    if (!old.has(name)) return `tensors names ${name}, which the loaded model does not have`;
  }
  if (next.tensors.length !== loaded.tensors.length) {
    return `it has ${next.tensors.length} tensors, the loaded model ${loaded.tensors.length}`;
  }
  for (const t of next.tensors) {
    const o = old.get(t.name);
    if (!o) return `it has tensor ${t.name}, which the loaded model does not`;
    if (o.dims.join("×") !== t.dims.join("×")) {
      return `tensor ${t.name} is ${t.dims.join("×")}, the loaded one ${o.dims.join("×")}`;
    }
    if (!changed.has(t.name) && (o.type !== t.type || o.byteSize !== t.byteSize)) {
      return `tensor ${t.name} is ${t.typeName} there and ${o.typeName} here, and tensors does not name it`;
    }
  }
  return undefined;
}
