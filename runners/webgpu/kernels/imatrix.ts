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

/**
 * f32 → f16 → f32 as ggml's CPU backend converts (F16C `vcvtps2ph`, round to nearest even):
 * a normal half keeps 10 mantissa bits, rounded on the bits; below 2⁻¹⁴ the step is 2⁻²⁴
 * (WGSL's round() is round-half-to-even); past 65504 the half is ±inf.
 */
export const ROUND_F16 = `fn round_f16(x: f32) -> f32 {
  let a = abs(x);
  if (a < 6.103515625e-05) { return round(x * 16777216.0) / 16777216.0; }
  let b = bitcast<u32>(x);
  let r = (b + 0x0fffu + ((b >> 13u) & 1u)) & 0xffffe000u;
  if ((r & 0x7fffffffu) > 0x477fe000u) { return bitcast<f32>((b & 0x80000000u) | 0x7f800000u); }
  return bitcast<f32>(r);
}`;

/**
 * One invocation per element of the pass's T rows of `cols`, with ROUND_F16 in scope: `body`
 * sets element i = t·N + j. Dispatch (⌈cols/64⌉, T).
 */
function perElement(label: string, list: BindingList, cols: number, body: string): KernelSource {
  return {
    label,
    bindings: list.entries,
    code: `${list.wgsl}
${ROUND_F16}
const N = ${cols}u;
@compute @workgroup_size(${IMATRIX_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let t = gid.y;
  if (j >= N || t >= P.T) { return; }
  let i = t * N + j;
  ${body}
}`,
  };
}

/**
 * The F16 matmul's input as ggml's CPU backend makes it (its F16 `vec_dot_type` is F16: the
 * f32 activations are converted before the dot products): x[i] rounded to f16 in place, for
 * the pass's T rows of `cols`. Bindings: x. Dispatch (⌈cols/64⌉, T).
 */
export function roundF16Kernel(cols: number): KernelSource {
  const list = new BindingList();
  list.add("x", "rw", "array<f32>");
  return perElement(`imatrix round to f16 ${cols}`, list, cols, "x[i] = round_f16(x[i]);");
}

/**
 * xn[t, j] = f16((x[t, j] · scale[t]) · g[j]): an RMSNorm-ed input (the scale from
 * rowScaleKernel) as llama.cpp's rms_norm, mul and the F16 matmul's conversion make it, for a
 * matmul kernel that takes its input normalized (`prenormed`). Bindings: x, scale, g, xn.
 * Dispatch (⌈cols/64⌉, T).
 */
export function normRoundKernel(cols: number): KernelSource {
  const list = new BindingList();
  list.add("x", "read", "array<f32>");
  list.add("scale", "read", "array<f32>").add("g", "read", "array<f32>");
  list.add("xn", "rw", "array<f32>");
  const body = "xn[i] = round_f16((x[i] * scale[t]) * g[j]);";
  return perElement(`imatrix norm and round to f16 ${cols}`, list, cols, body);
}
