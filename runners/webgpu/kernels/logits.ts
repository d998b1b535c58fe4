/**
 * What leaves the GPU after the output projection: the greedy token (argmax of the last row),
 * or per row the log-probabilities of given ids and the top K, never the full logits.
 */
import { BindingList, type KernelSource } from "./kernel.js";

const WG = 64;

/** The better of two (logit, id) candidates: higher logit, then lower id (llama.cpp's greedy). */
const BETTER = `fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool { return v > bv || (v == bv && i < bi); }`;

const REDUCE_BEST = `
  bestV[li] = bv; bestI[li] = bi;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o >>= 1u) {
    if (li < o && better(bestV[li + o], bestI[li + o], bestV[li], bestI[li])) {
      bestV[li] = bestV[li + o]; bestI[li] = bestI[li + o];
    }
    workgroupBarrier();
  }`;

/** Argmax of logits row nOut−1 into out[0]. Bindings: logits, out (u32). Dispatch (1). */
export function argmaxKernel(vocab: number): KernelSource {
  const list = new BindingList();
  list.add("logits", "read", "array<f32>").add("out", "rw", "array<u32>");
  const code = `${list.wgsl}
const V = ${vocab}u;
var<workgroup> bestV: array<f32, ${WG}>;
var<workgroup> bestI: array<u32, ${WG}>;
${BETTER}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) li: u32) {
  let base = (P.nOut - 1u) * V;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var k = li; k < V; k += ${WG}u) {
    let v = logits[base + k];
    if (better(v, k, bv, bi)) { bv = v; bi = k; }
  }
  ${REDUCE_BEST}
  if (li == 0u) { out[0] = bestI[0]; }
}`;
  return { label: `argmax ${vocab}`, code, bindings: list.entries };
}

/**
 * Per logits row r: out[r·stride + s] = log p(targets[r·S + s]) for s < S, then the top K as
 * (id, log p) pairs, most likely first. Bindings: logits, targets (u32), out (f32).
 * Dispatch (nOut).
 */
export function scoreKernel(vocab: number): KernelSource {
  const list = new BindingList();
  list.add("logits", "read", "array<f32>").add("targets", "read", "array<u32>");
  list.add("out", "rw", "array<f32>");
  const code = `${list.wgsl}
const V = ${vocab}u;
var<workgroup> bestV: array<f32, ${WG}>;
var<workgroup> bestI: array<u32, ${WG}>;
var<workgroup> part: array<f32, ${WG}>;
${BETTER}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = wid.x;
  let base = r * V;
  var mx = -3.4e38;
  for (var k = li; k < V; k += ${WG}u) { mx = max(mx, logits[base + k]); }
  part[li] = mx;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o >>= 1u) {
    if (li < o) { part[li] = max(part[li], part[li + o]); }
    workgroupBarrier();
  }
  let rowMax = part[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var k = li; k < V; k += ${WG}u) { sum += exp(logits[base + k] - rowMax); }
  part[li] = sum;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o >>= 1u) {
    if (li < o) { part[li] += part[li + o]; }
    workgroupBarrier();
  }
  let logZ = rowMax + log(part[0]);
  let outBase = r * P.stride;
  for (var s = li; s < P.S; s += ${WG}u) {
    out[outBase + s] = logits[base + targets[r * P.S + s]] - logZ;
  }
  var pv = 3.4e38;
  var pi = 0u;
  var first = true;
  for (var kk = 0u; kk < P.K; kk++) {
    var bv = -3.4e38;
    var bi = 0xffffffffu;
    for (var k = li; k < V; k += ${WG}u) {
      let v = logits[base + k];
      let after = first || v < pv || (v == pv && k > pi);
      if (after && better(v, k, bv, bi)) { bv = v; bi = k; }
    }
    ${REDUCE_BEST}
    pv = bestV[0];
    pi = bestI[0];
    first = false;
    if (li == 0u) {
      out[outBase + P.S + 2u * kk] = f32(pi);
      out[outBase + P.S + 2u * kk + 1u] = pv - logZ;
    }
    workgroupBarrier();
  }
}`;
  return { label: `score ${vocab}`, code, bindings: list.entries };
}
