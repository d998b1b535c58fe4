/**
 * The importance matrix's two kernels, dispatched at a matmul's input only while one is
 * collected: per input column j, Σ over this pass's tokens of x[t, j]², added to a running sum
 * (llama-imatrix's `acc[j] += x[j] * x[j]`, in f32, tokens in order). An input the matmul
 * normalizes on the fly (RMSNorm fused into it) is first given its per-token scale, so what is
 * squared is the matmul's real input, (x · scale) · g, as llama.cpp's rms_norm then mul make it.
 */
import { BindingList, f32Literal, type KernelSource } from "./kernel.js";

export const IMATRIX_WG = 64;

/** scale[t] = 1 / √(mean_j x[t, j]² + eps) for the pass's T tokens. Bindings: x, scale. */
export function rowScaleKernel(cols: number, eps: number): KernelSource {
  const list = new BindingList();
  list.add("x", "read", "array<f32>");
  list.add("scale", "rw", "array<f32>");
  return {
    label: `imatrix row scale ${cols}`,
    bindings: list.entries,
    code: `${list.wgsl}
const N = ${cols}u;
@compute @workgroup_size(${IMATRIX_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= P.T) { return; }
  var s = 0.0;
  for (var j = 0u; j < N; j++) { let v = x[t * N + j]; s += v * v; }
  scale[t] = 1.0 / sqrt(s / ${cols}.0 + ${f32Literal(eps)});
}`,
  };
}

/**
 * sums[j] += Σ_t v[t, j]² over the pass's tokens, v = x, or (x · scale[t]) · g[j] when `normed`.
 * One invocation per column. Bindings: x, [scale, g], sums.
 */
export function sumSquaresKernel(cols: number, normed: boolean): KernelSource {
  const list = new BindingList();
  list.add("x", "read", "array<f32>");
  if (normed) list.add("scale", "read", "array<f32>").add("g", "read", "array<f32>");
  list.add("sums", "rw", "array<f32>");
  const value = normed ? "(x[t * N + j] * scale[t]) * g[j]" : "x[t * N + j]";
  return {
    label: `imatrix sum of squares ${cols}${normed ? " normed" : ""}`,
    bindings: list.entries,
    code: `${list.wgsl}
const N = ${cols}u;
@compute @workgroup_size(${IMATRIX_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= N) { return; }
  var acc = sums[j];
  for (var t = 0u; t < P.T; t++) { let v = ${value}; acc += v * v; }
  sums[j] = acc;
}`,
  };
}
