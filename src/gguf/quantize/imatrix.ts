import { GGML_TYPES } from "../../../lib/gguf/ggml-types.js";
import { InputError } from "../../errors.js";
import { FORMATS } from "./formats.js";
import type { TensorPlan } from "./plan.js";

/** Types whose llama.cpp quantizer reads quant_weights; F16/BF16/Q8_0 ignore them. */
const USES_WEIGHTS = new Set([
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
  "Q2_K",
  "Q3_K",
  "Q4_K",
  "Q5_K",
  "Q6_K",
  "IQ4_NL",
  "IQ4_XS",
]);

/**
 * llama-quantize's checks of an imatrix against the tensors it is used for: an entry of another
 * size is an error (except token_embd), as is an entry for a type qbench cannot weight yet.
 */
export function checkImatrix(
  tensors: readonly TensorPlan[],
  imatrix: ReadonlyMap<string, Float32Array>,
  location: string,
): void {
  for (const p of tensors) {
    if (!p.convert) continue;
    const weights = imatrix.get(p.tensor.name);
    if (weights === undefined) continue;
    const expected = (p.tensor.dims[0] ?? 1) * (p.tensor.dims[2] ?? 1);
    const name = p.tensor.name;
    if (
      weights.length !== expected &&
      name !== "token_embd.weight" &&
      name !== "per_layer_token_embd.weight"
    ) {
      throw new InputError(
        "BAD_INPUT",
        `imatrix entry for tensor ${name} has ${weights.length} values, the tensor needs ${expected} (an imatrix of another model?)`,
        { location },
      );
    }
    const type = GGML_TYPES.get(p.type)?.name ?? "";
    if (USES_WEIGHTS.has(type) && FORMATS.get(p.type)?.quantizeRowWeighted === undefined) {
      throw new InputError(
        "BAD_USAGE",
        `tensor ${name} becomes ${type}, which qbench cannot yet quantize with an imatrix`,
        { location },
      );
    }
  }
}
