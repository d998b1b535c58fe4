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

/** The most top entries the selection below holds in workgroup memory (8 KiB); more take K passes. */
export const SELECT_CAP = 1024;

/**
 * The top K of a row in a fixed number of passes over it, not K: radix select finds the K-th
 * largest logit (four 8-bit digits of an order-preserving key, a 256-bin histogram each), the
 * entries above it and the lowest ids among its ties are gathered into workgroup memory, and a
 * bitonic sort orders them, higher logit then lower id (what K argmax passes would give).
 */
const SELECT_TOP = `
    var prefix = 0u;
    var mask = 0u;
    var remaining = K;
    for (var digit = 0u; digit < 4u; digit++) {
      let shift = 24u - 8u * digit;
      for (var b = li; b < 256u; b += ${WG}u) { atomicStore(&hist[b], 0u); }
      workgroupBarrier();
      for (var k = li; k < V; k += ${WG}u) {
        let key = keyOf(logits[base + k]);
        if ((key & mask) == prefix) { atomicAdd(&hist[(key >> shift) & 255u], 1u); }
      }
      workgroupBarrier();
      if (li == 0u) {
        var above = 0u;
        var b = 255u;
        loop {
          let c = atomicLoad(&hist[b]);
          if (above + c >= remaining || b == 0u) { break; }
          above += c;
          b -= 1u;
        }
        sel[0] = prefix | (b << shift);
        sel[1] = remaining - above;
        sel[2] = atomicLoad(&hist[b]);
      }
      prefix = workgroupUniformLoad(&sel[0]);
      remaining = workgroupUniformLoad(&sel[1]);
      mask |= 255u << shift;
    }
    // prefix: the K-th largest key; remaining of the entries at it are taken, the lowest ids.
    if (li == 0u) {
      atomicStore(&count, 0u);
      tie = select(0u, 1u, sel[2] != remaining);
      taken = 0u;
    }
    let ties = workgroupUniformLoad(&tie);
    for (var k = li; k < V; k += ${WG}u) {
      let v = logits[base + k];
      let key = keyOf(v);
      if (key > prefix || (ties == 0u && key == prefix)) {
        let at = atomicAdd(&count, 1u);
        candV[at] = v;
        candI[at] = k;
      }
    }
    if (ties == 1u) {
      // Entries equal to the K-th: in id order, a round of ${WG} ids at a time.
      let start = K - remaining;
      for (var r0 = 0u; r0 < V; r0 += ${WG}u) {
        let k = r0 + li;
        flag[li] = select(0u, 1u, k < V && keyOf(logits[base + min(k, V - 1u)]) == prefix);
        workgroupBarrier();
        if (li == 0u) {
          for (var l = 0u; l < ${WG}u; l++) {
            if (flag[l] == 1u && taken < remaining) {
              flag[l] = 2u + start + taken;
              taken += 1u;
            }
          }
        }
        workgroupBarrier();
        if (flag[li] >= 2u) {
          candV[flag[li] - 2u] = logits[base + k];
          candI[flag[li] - 2u] = k;
        }
        if (workgroupUniformLoad(&taken) >= remaining) { break; }
      }
    }
    var n = 1u;
    while (n < K) { n <<= 1u; }
    for (var i = K + li; i < n; i += ${WG}u) {
      candV[i] = 0.0;
      candI[i] = 0xffffffffu;
    }
    workgroupBarrier();
    for (var size = 2u; size <= n; size <<= 1u) {
      for (var half = size >> 1u; half > 0u; half >>= 1u) {
        for (var t = li; t < n / 2u; t += ${WG}u) {
          let i = 2u * t - (t & (half - 1u));
          let j = i + half;
          let down = (i & size) == 0u;
          let vi = candV[i];
          let ii = candI[i];
          let vj = candV[j];
          let ij = candI[j];
          if (select(ahead(vi, ii, vj, ij), ahead(vj, ij, vi, ii), down)) {
            candV[i] = vj;
            candI[i] = ij;
            candV[j] = vi;
            candI[j] = ii;
          }
        }
        workgroupBarrier();
      }
    }
    for (var i = li; i < K; i += ${WG}u) {
      out[outBase + P.S + 2u * i] = f32(candI[i]);
      out[outBase + P.S + 2u * i + 1u] = candV[i] - logZ;
    }`;

/**
 * Per logits row r: out[r·stride + s] = log p(targets[r·S + s]) for s < S, then the top K as
 * (id, log p) pairs, most likely first (ties to the lower id). Bindings: logits, targets (u32),
 * out (f32). Dispatch (nOut).
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
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> candV: array<f32, ${SELECT_CAP}>;
var<workgroup> candI: array<u32, ${SELECT_CAP}>;
var<workgroup> flag: array<u32, ${WG}>;
var<workgroup> sel: array<u32, 3>;
var<workgroup> count: atomic<u32>;
var<workgroup> tie: u32;
var<workgroup> taken: u32;
${BETTER}
/** better(), with id 0xffffffff as padding after every entry (a logit may be −inf). */
fn ahead(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != 0xffffffffu && (bi == 0xffffffffu || better(v, i, bv, bi));
}
/** An order-preserving u32 of a logit (−0 as +0, so equal logits have equal keys). */
fn keyOf(v: f32) -> u32 {
  let b = bitcast<u32>(select(v, 0.0, v == 0.0));
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
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
  let K = P.K;
  if (K == 0u) { return; }
  if (K <= ${SELECT_CAP}u) {${SELECT_TOP}
    return;
  }
  var pv = 3.4e38;
  var pi = 0u;
  var first = true;
  for (var kk = 0u; kk < K; kk++) {
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
