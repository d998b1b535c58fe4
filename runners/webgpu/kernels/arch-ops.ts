/**
 * The kernels only some architectures need: qwen3's per-head Q/K RMSNorm before RoPE, and
 * Gemma 2's RMSNorm of a block's output before its residual add.
 */
import { BindingList, f32Literal, type KernelSource } from "./kernel.js";
import { pairRows } from "./matmul.js";

export const HEAD_NORM_WG = 64;

export interface HeadNormSpec {
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nRot: number;
  neox: boolean;
  contextSize: number;
  eps: number;
}

/**
 * Per (token, head): RMSNorm over the head (weights `norms`: Q's headDim, then K's), then RoPE;
 * Q in place in its pair slots (qout), K from kraw into this layer's f16 cache. The slots are
 * qkvKernel's (NEOX pairs permuted alike in Q and K). Bindings: qout, kraw, kcache, norms,
 * inv_freq. Dispatch (⌈T·(nHead + nHeadKv)/64⌉).
 */
export function headNormRopeKernel(spec: HeadNormSpec): KernelSource {
  const { nHead, nHeadKv, headDim, nRot } = spec;
  const list = new BindingList();
  list.add("qout", "rw", "array<vec2f>");
  list.add("kraw", "read", "array<vec2f>");
  list.add("kcache", "rw", "array<u32>");
  list.add("norms", "read", "array<f32>");
  list.add("inv_freq", "uniform", `array<vec4f, ${Math.max(1, Math.ceil(nRot / 8))}>`);
  const head = (src: string, base: string, w0: number, store: string) => `
    var ss = 0.0;
    for (var i = 0u; i < HD2; i++) { let v = ${src}[${base} + i]; ss += dot(v, v); }
    let rs = inverseSqrt(ss / ${headDim}.0 + EPS);
    for (var i = 0u; i < HD2; i++) {
      ${pairRows("i", headDim, nRot, spec.neox)}
      let v = ${src}[${base} + i];
      let x0 = v.x * rs * norms[${w0}u + ra];
      let x1 = v.y * rs * norms[${w0}u + rb];
      var a = x0; var b = x1;
      if (i < ${nRot / 2}u) {
        let theta = f32(P.pos0 + t) * inv_freq[i / 4u][i % 4u];
        let c = cos(theta); let s = sin(theta);
        a = x0 * c - x1 * s; b = x0 * s + x1 * c;
      }
      ${store}
    }`;
  const code = `${list.wgsl}
const HD2 = ${headDim / 2}u;
const NH = ${nHead}u;
const NKV = ${nHeadKv}u;
const CTX = ${spec.contextSize}u;
const EPS = ${f32Literal(spec.eps)};
@compute @workgroup_size(${HEAD_NORM_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let idx = gid.x;
  if (idx >= P.T * (NH + NKV)) { return; }
  let t = idx / (NH + NKV);
  let h = idx % (NH + NKV);
  if (h < NH) {
    let qb = (t * NH + h) * HD2;
    ${head("qout", "qb", 0, "qout[qb + i] = vec2f(a, b);")}
  } else {
    let hk = h - NH;
    let kb = (t * NKV + hk) * HD2;
    ${head("kraw", "kb", headDim, "kcache[(hk * CTX + P.pos0 + t) * HD2 + i] = pack2x16float(vec2f(a, b));")}
  }
}`;
  return {
    label: `head norm+rope ${nHead}/${nHeadKv}x${headDim}${spec.neox ? " neox" : ""}`,
    code,
    bindings: list.entries,
  };
}

export const NORM_ADD_WG = 64;

/**
 * X[t] += RMSNorm(Y[t]) · g, one workgroup per token. Bindings: y, g, x (all array<vec4f>).
 * Dispatch (T).
 */
export function normAddKernel(n: number, eps: number): KernelSource {
  const list = new BindingList();
  list.add("y", "read", "array<vec4f>");
  list.add("g", "read", "array<vec4f>");
  list.add("x", "rw", "array<vec4f>");
  const code = `${list.wgsl}
const N4 = ${n / 4}u;
const EPS = ${f32Literal(eps)};
var<workgroup> partial: array<f32, ${NORM_ADD_WG}>;
@compute @workgroup_size(${NORM_ADD_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let base = wid.x * N4;
  var ss = 0.0;
  for (var i = li; i < N4; i += ${NORM_ADD_WG}u) { let v = y[base + i]; ss += dot(v, v); }
  partial[li] = ss;
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < ${NORM_ADD_WG}u; i++) { total += partial[i]; }
  let rs = inverseSqrt(total / ${n}.0 + EPS);
  for (var i = li; i < N4; i += ${NORM_ADD_WG}u) { x[base + i] += y[base + i] * rs * g[i]; }
}`;
  return { label: `norm+add ${n}`, code, bindings: list.entries };
}
