/** Token embedding lookup: X[t] = dequantize(E[tokens[t]]), in the embedding's GGUF type. */
import { BindingList, f32Literal, type KernelSource } from "./kernel.js";
import { addWeight, load4Fn, UNPACK_I8, type WeightShape, weightFns } from "./weight-code.js";

export const EMBED_WG = 64;

/** Bindings: tokens (u32), e, x (array<vec4f>). Dispatch (⌈k/4/64⌉, T). `scale`: Gemma's √nEmbd. */
export function embedKernel(e: WeightShape, scale = 1, row0?: number): KernelSource {
  const list = new BindingList();
  list.add("tokens", "read", "array<u32>");
  addWeight(list, "e", e.type);
  list.add("x", "rw", "array<vec4f>");
  const code = `${list.wgsl}
const K4 = ${e.k / 4}u;
${UNPACK_I8}
${weightFns("e", e)}
${load4Fn("e", e)}
@compute @workgroup_size(${EMBED_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let k4 = gid.x;
  let t = gid.y;
  if (k4 >= K4 || t >= P.T) { return; }
  ${
    row0 === undefined
      ? "let id = tokens[t];"
      : `// Rows ${row0}… of a table split at rows: other ids are another part's.
  if (tokens[t] < ${row0}u || tokens[t] >= ${row0 + e.m}u) { return; }
  let id = tokens[t] - ${row0}u;`
  }
  x[t * K4 + k4] = load4_e(id, k4)${scale === 1 ? "" : ` * ${f32Literal(scale)}`};
}`;
  return {
    label: `embed ${e.type} ${e.k}${scale === 1 ? "" : " scaled"}${row0 === undefined ? "" : ` rows ${row0}…`}`,
    code,
    bindings: list.entries,
  };
}
