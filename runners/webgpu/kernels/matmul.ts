/**
 * Y[t, r] = Σ_k W[r, k] · X[t, k] for token rows of activations X and a weight W in its GGUF
 * type, dequantized in registers. One invocation per output row (per pair, for RoPE), looping
 * over a chunk of tokens `tb` at a time so each weight row is dequantized once per `tb` tokens.
 * A CPU-emulated adapter vectorizes across invocations and its caches stand in for workgroup
 * memory; see docs/webgpu.md for what a GPU would want instead.
 */
import { BindingList, f32Literal, type KernelSource } from "./kernel.js";
import {
  addWeight,
  dotRows,
  rmsScale,
  UNPACK_I8,
  type WeightShape,
  weightFns,
} from "./weight-code.js";

export const MATMUL_WG = 64;
/** Tokens one workgroup covers along y: enough to keep weight rows in cache, few enough to spread. */
export const TOKEN_CHUNK = 16;

/**
 * Which token rows a kernel computes: `T` (all of this pass's tokens, layers), or `nOut` (the
 * output projection: nOut rows of X from token tOut0 on, written from row 0).
 */
export type RowCount = "T" | "nOut";

/** The loop over this workgroup's tokens, `tb` at a time; `body` gets clamped rows of X. */
function tokenLoop(tb: number, rows: RowCount, body: (toks: string[], ts: number[]) => string) {
  const ts = Array.from({ length: tb }, (_, t) => t);
  const from = rows === "nOut" ? "P.tOut0 + " : "";
  return `
  let n = P.${rows};
  let tStart = gid.y * ${TOKEN_CHUNK}u;
  let tEnd = min(tStart + ${TOKEN_CHUNK}u, n);
  for (var t0 = tStart; t0 < tEnd; t0 += ${tb}u) {
    ${body(
      ts.map((t) => `${from}min(t0 + ${t}u, n - 1u)`),
      ts,
    )}
  }`;
}

/** Declares the norm weight `g` and EPS for a kernel that applies RMSNorm to X on the fly. */
function addNorm(list: BindingList, eps: number): string {
  list.add("g", "read", "array<vec4f>");
  return `const EPS = ${f32Literal(eps)};`;
}

/** A kernel with one invocation per output row `row` < m; `body` runs for each. */
function rowKernel(list: BindingList, consts: string, m: number, body: string): string {
  return `${list.wgsl}
${consts}
const M = ${m}u;
${UNPACK_I8}
@compute @workgroup_size(${MATMUL_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.x;
  if (row >= M) { return; }
  ${body}
}`;
}

export interface MatmulSpec {
  w: WeightShape;
  /** Tokens per weight-row pass: 1 for decode, 4 for prefill. */
  tb: number;
  /** `add` accumulates into Y (the residual stream) instead of overwriting it. */
  epilogue: "store" | "add";
  rows: RowCount;
  /** RMSNorm X with weight g (and this epsilon) on the way in. */
  normEps?: number;
}

/** Bindings: x (activations, array<vec4f>), [g], w, y. Dispatch (⌈m/64⌉, ⌈rows/16⌉). */
export function matmulKernel(spec: MatmulSpec): KernelSource {
  const { w, tb, epilogue, rows, normEps } = spec;
  const list = new BindingList();
  list.add("x", "read", "array<vec4f>");
  const consts = normEps === undefined ? "" : addNorm(list, normEps);
  addWeight(list, "w", w.type);
  list.add("y", "rw", "array<f32>");
  const op = epilogue === "add" ? "+=" : "=";
  const code = rowKernel(
    list,
    `${consts}\n${weightFns("w", w)}`,
    w.m,
    tokenLoop(tb, rows, (toks, ts) => {
      const acc = ts.map((t) => `a${t}`);
      const sumSq = normEps === undefined ? undefined : ts.map((t) => `q${t}`);
      const scale = (t: number) => (sumSq ? ` * ${rmsScale(`q${t}`, w.k, "EPS")}` : "");
      return `${[...acc, ...(sumSq ?? [])].map((a) => `var ${a} = 0.0;`).join(" ")}
    ${dotRows("w", w, "row", toks, acc, sumSq ? { sumSq } : undefined)}
    ${ts.map((t) => `if (t0 + ${t}u < tEnd) { y[(t0 + ${t}u) * M + row] ${op} a${t}${scale(t)}; }`).join("\n    ")}`;
    }),
  );
  return {
    label: `matmul ${w.type} ${w.m}x${w.k} tb${tb} ${epilogue} ${rows}${normEps === undefined ? "" : " norm"}`,
    code,
    bindings: list.entries,
  };
}

/** Y = silu(N·Wgateᵀ) ∘ (N·Wupᵀ) with N = RMSNorm(X)·g, Llama's FFN input. Bindings: x, g, wg, wu, y. */
export function swigluKernel(
  gate: WeightShape,
  up: WeightShape,
  eps: number,
  tb: number,
): KernelSource {
  const list = new BindingList();
  list.add("x", "read", "array<vec4f>");
  const consts = addNorm(list, eps);
  addWeight(list, "wg", gate.type);
  addWeight(list, "wu", up.type);
  list.add("y", "rw", "array<f32>");
  const code = rowKernel(
    list,
    `${consts}\n${weightFns("wg", gate)}\n${weightFns("wu", up)}`,
    gate.m,
    tokenLoop(tb, "T", (toks, ts) => {
      const g = ts.map((t) => `g${t}`);
      const u = ts.map((t) => `u${t}`);
      const q = ts.map((t) => `q${t}`);
      return `${[...g, ...u, ...q].map((a) => `var ${a} = 0.0;`).join(" ")}
    ${dotRows("wg", gate, "row", toks, g, { sumSq: q })}
    ${dotRows("wu", up, "row", toks, u, {})}
    ${ts
      .map(
        (t) =>
          `if (t0 + ${t}u < tEnd) {
      let r = ${rmsScale(`q${t}`, gate.k, "EPS")};
      let gs = g${t} * r;
      y[(t0 + ${t}u) * M + row] = gs / (1.0 + exp(-gs)) * (u${t} * r);
    }`,
      )
      .join("\n    ")}`;
    }),
  );
  return {
    label: `swiglu+norm ${gate.type}/${up.type} ${gate.m}x${gate.k} tb${tb}`,
    code,
    bindings: list.entries,
  };
}

export interface QkvSpec {
  q: WeightShape;
  k: WeightShape;
  v: WeightShape;
  headDim: number;
  nRot: number;
  contextSize: number;
  /** The attention RMSNorm's epsilon (X is normalized with weight g on the way in). */
  eps: number;
  tb: number;
}

/**
 * Attention RMSNorm and the Q, K and V projections in one dispatch, with RoPE (normal mode:
 * pairs 2i, 2i+1) applied to Q and K, and K/V written as f16 pairs into this layer's cache at
 * positions pos0 + t. One invocation per output pair.
 * Bindings: x, g, wq, wk, wv, qout, kcache, vcache, inv_freq.
 */
export function qkvKernel(spec: QkvSpec): KernelSource {
  const { q, k, v, headDim, nRot, contextSize, tb } = spec;
  const list = new BindingList();
  list.add("x", "read", "array<vec4f>");
  const consts = addNorm(list, spec.eps);
  addWeight(list, "wq", q.type);
  addWeight(list, "wk", k.type);
  addWeight(list, "wv", v.type);
  list.add("qout", "rw", "array<vec2f>");
  list.add("kcache", "rw", "array<u32>");
  list.add("vcache", "rw", "array<u32>");
  list.add("inv_freq", "uniform", `array<vec4f, ${Math.max(1, Math.ceil(nRot / 8))}>`);
  const nqp = q.m / 2;
  const nkp = k.m / 2;
  const pairBranch = (
    w: string,
    shape: WeightShape,
    pair: string,
    store: (t: string, r0: string, r1: string) => string,
  ) =>
    tokenLoop(tb, "T", (toks, ts) => {
      const r0 = ts.map((t) => `r0_${t}`);
      const r1 = ts.map((t) => `r1_${t}`);
      const q = ts.map((t) => `q${t}`);
      const scaled = (t: number) => `
        let rs = ${rmsScale(`q${t}`, shape.k, "EPS")};
        let n0 = r0_${t} * rs; let n1 = r1_${t} * rs;`;
      return `${[...r0, ...r1, ...q].map((a) => `var ${a} = 0.0;`).join(" ")}
      ${dotRows(w, shape, `2u * ${pair}`, toks, r0, { sumSq: q })}
      ${dotRows(w, shape, `2u * ${pair} + 1u`, toks, r1, {})}
      ${ts.map((t) => `if (t0 + ${t}u < tEnd) { ${scaled(t)} ${store(`t0 + ${t}u`, "n0", "n1")} }`).join("\n      ")}`;
    });
  const rope = (pair: string, t: string, r0: string, r1: string) => `
        let ip = ${pair} % HD2;
        var a = ${r0}; var b = ${r1};
        if (ip < ${nRot / 2}u) {
          let theta = f32(P.pos0 + ${t}) * inv_freq[ip / 4u][ip % 4u];
          let c = cos(theta); let s = sin(theta);
          a = ${r0} * c - ${r1} * s; b = ${r0} * s + ${r1} * c;
        }`;
  const cacheAt = (pair: string, t: string) =>
    `((${pair} / HD2) * CTX + P.pos0 + ${t}) * HD2 + ${pair} % HD2`;
  const code = `${list.wgsl}
${consts}
const HD2 = ${headDim / 2}u;
const CTX = ${contextSize}u;
${UNPACK_I8}
${weightFns("wq", q)}
${weightFns("wk", k)}
${weightFns("wv", v)}
@compute @workgroup_size(${MATMUL_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = gid.x;
  if (p < ${nqp}u) {
    ${pairBranch(
      "wq",
      q,
      "p",
      (t, r0, r1) =>
        `${rope("p", t, r0, r1)}
        qout[(${t}) * ${nqp}u + p] = vec2f(a, b);`,
    )}
  } else if (p < ${nqp + nkp}u) {
    let pk = p - ${nqp}u;
    ${pairBranch(
      "wk",
      k,
      "pk",
      (t, r0, r1) =>
        `${rope("pk", t, r0, r1)}
        kcache[${cacheAt("pk", t)}] = pack2x16float(vec2f(a, b));`,
    )}
  } else if (p < ${nqp + 2 * nkp}u) {
    let pv = p - ${nqp + nkp}u;
    ${pairBranch("wv", v, "pv", (t, r0, r1) => `vcache[${cacheAt("pv", t)}] = pack2x16float(vec2f(${r0}, ${r1}));`)}
  }
}`;
  return {
    label: `norm+qkv ${q.type}/${k.type}/${v.type} tb${tb}`,
    code,
    bindings: list.entries,
  };
}

/** Workgroups along x for `rows` output rows (or pairs) of a matmul-family kernel. */
export function matmulGroups(rows: number): number {
  return Math.ceil(rows / MATMUL_WG);
}

/** Workgroups along y for `tokens` token rows. */
export function tokenGroups(tokens: number): number {
  return Math.ceil(tokens / TOKEN_CHUNK);
}
