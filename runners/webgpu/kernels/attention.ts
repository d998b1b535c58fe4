/**
 * Causal grouped-query attention over the f16 KV cache, for T query tokens at positions
 * pos0 + t: one workgroup per (head, token); its invocations split the keys, each keeping an
 * online softmax (running max, sum and weighted values), merged through workgroup memory.
 */
import { BindingList, f32Literal, type KernelSource } from "./kernel.js";

export interface AttentionSpec {
  nHead: number;
  nHeadKv: number;
  headDim: number;
  contextSize: number;
  /** The factor on Q·K (1/√headDim unless the architecture says otherwise). */
  scale?: number;
  /** c of c·tanh(s / c) on the scaled scores (Gemma 2); 0 or absent for none. */
  softcap?: number;
  /** Keys j with pos − j < window only (a sliding-window layer); 0 or absent for all. */
  window?: number;
  /**
   * Invocations per (head, token): 8 on a CPU-emulated adapter (one 256-bit SIMD group, so
   * its barriers are nearly free), 32 on a GPU.
   */
  workgroup: number;
}

/** The constants both attention kernels declare. */
function attentionConsts(spec: Omit<AttentionSpec, "workgroup">): string {
  const { nHead, nHeadKv, headDim, contextSize } = spec;
  return `const HD2 = ${headDim / 2}u;
const NH = ${nHead}u;
const GROUP = ${nHead / nHeadKv}u;
const CTX = ${contextSize}u;
const SCALE = ${f32Literal(spec.scale ?? 1 / Math.sqrt(headDim))};
${spec.softcap ? `const CAP = ${f32Literal(spec.softcap)};` : ""}
${spec.window ? `const WINDOW = ${spec.window}u;` : ""}`;
}

/** The variant's suffix in a kernel label. */
function variantLabel(spec: Omit<AttentionSpec, "workgroup">): string {
  return `${spec.softcap ? " softcap" : ""}${spec.window ? ` window${spec.window}` : ""}`;
}

/**
 * Query row `qRow` (of token t, head h) against keys j = `first`, `first + step`, … ≤ pos,
 * keeping an online softmax: running max m, sum l and weighted values acc.
 */
function keyLoop(
  spec: Omit<AttentionSpec, "workgroup">,
  qRow: string,
  first: string,
  step: string,
): string {
  const hd2 = spec.headDim / 2;
  const j0 = spec.window ? "select(0u, pos + 1u - WINDOW, pos + 1u > WINDOW) + " : "";
  const cap = spec.softcap ? "\n    s = CAP * tanh(clamp(s / CAP, -15.0, 15.0));" : "";
  return `let pos = P.pos0 + t;
  let kvBase = (h / GROUP) * CTX;
  var qv: array<vec2f, ${hd2}>;
  var acc: array<vec2f, ${hd2}>;
  for (var i = 0u; i < HD2; i++) { qv[i] = q[${qRow} * HD2 + i]; acc[i] = vec2f(0.0); }
  var m = -1e30;
  var l = 0.0;
  for (var j = ${j0}${first}; j <= pos; j += ${step}) {
    let kb = (kvBase + j) * HD2;
    var s = 0.0;
    for (var i = 0u; i < HD2; i++) { s += dot(qv[i], unpack2x16float(kcache[kb + i])); }
    s *= SCALE;${cap}
    let mNew = max(m, s);
    let c = exp(m - mNew);
    let e = exp(s - mNew);
    l = l * c + e;
    for (var i = 0u; i < HD2; i++) { acc[i] = acc[i] * c + e * unpack2x16float(vcache[kb + i]); }
    m = mNew;
  }`;
}

/** Bindings: q (T × nHead × headDim), kcache, vcache, o. Dispatch (nHead, T). */
export function attentionKernel(spec: AttentionSpec): KernelSource {
  const { nHead, nHeadKv, headDim } = spec;
  const wg = spec.workgroup;
  const list = new BindingList();
  list.add("q", "read", "array<vec2f>");
  list.add("kcache", "read", "array<u32>").add("vcache", "read", "array<u32>");
  list.add("o", "rw", "array<f32>");
  const code = `${list.wgsl}
const HD = ${headDim}u;
${attentionConsts(spec)}
var<workgroup> wmax: array<f32, ${wg}>;
var<workgroup> wsum: array<f32, ${wg}>;
var<workgroup> wacc: array<f32, ${wg * wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wid.x;
  let t = wid.y;
  ${keyLoop(spec, "(t * NH + h)", "li", `${wg}u`)}
  wmax[li] = m;
  workgroupBarrier();
  var mAll = -1e30;
  for (var i = 0u; i < ${wg}u; i++) { mAll = max(mAll, wmax[i]); }
  let f = exp(m - mAll);
  wsum[li] = l * f;
  workgroupBarrier();
  var lAll = 0.0;
  for (var i = 0u; i < ${wg}u; i++) { lAll += wsum[i]; }
  for (var c = 0u; c < ${Math.ceil(headDim / wg)}u; c++) {
    for (var j = 0u; j < ${wg / 2}u; j++) {
      let pi = c * ${wg / 2}u + j;
      if (pi < HD2) {
        wacc[li * ${wg}u + 2u * j] = acc[pi].x * f;
        wacc[li * ${wg}u + 2u * j + 1u] = acc[pi].y * f;
      }
    }
    workgroupBarrier();
    let d = c * ${wg}u + li;
    if (d < HD) {
      var sum = 0.0;
      for (var i = 0u; i < ${wg}u; i++) { sum += wacc[i * ${wg}u + li]; }
      o[(t * NH + h) * HD + d] = sum / lAll;
    }
    workgroupBarrier();
  }
}`;
  return {
    label: `attention ${nHead}/${nHeadKv}x${headDim} wg${wg}${variantLabel(spec)}`,
    code,
    bindings: list.entries,
  };
}

export const SERIAL_ATTENTION_WG = 8;

/**
 * The same attention with one invocation per (token, head) walking its keys in order: no
 * workgroup memory and no barriers, so a CPU-emulated adapter pays one workgroup launch per
 * eight heads instead of one per head and token. Bindings as attentionKernel.
 * Dispatch (⌈T·nHead/8⌉).
 */
export function serialAttentionKernel(spec: Omit<AttentionSpec, "workgroup">): KernelSource {
  const { nHead, nHeadKv, headDim } = spec;
  const list = new BindingList();
  list.add("q", "read", "array<vec2f>");
  list.add("kcache", "read", "array<u32>").add("vcache", "read", "array<u32>");
  list.add("o", "rw", "array<vec2f>");
  const code = `${list.wgsl}
${attentionConsts(spec)}
@compute @workgroup_size(${SERIAL_ATTENTION_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let idx = gid.x;
  if (idx >= P.T * NH) { return; }
  let t = idx / NH;
  let h = idx % NH;
  ${keyLoop(spec, "idx", "0u", "1u")}
  for (var i = 0u; i < HD2; i++) { o[idx * HD2 + i] = acc[i] / l; }
}`;
  return {
    label: `attention serial ${nHead}/${nHeadKv}x${headDim}${variantLabel(spec)}`,
    code,
    bindings: list.entries,
  };
}
