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
  /** Writes c·tanh(y / c) (Gemma 2's final logit soft-capping); with `store` only. */
  softcap?: number;
  /** A weight split at rows: this part's first row, and the whole tensor's rows (Y's width). */
  part?: { row0: number; rows: number };
}

/** Bindings: x (activations, array<vec4f>), [g], w, y. Dispatch (⌈m/64⌉, ⌈rows/16⌉). */
export function matmulKernel(spec: MatmulSpec): KernelSource {
  const { w, tb, epilogue, rows, normEps, softcap, part } = spec;
  const out = part ? `(t0 + T_) * ${part.rows}u + ${part.row0}u + row` : "(t0 + T_) * M + row";
  const list = new BindingList();
  list.add("x", "read", "array<vec4f>");
  const consts = normEps === undefined ? "" : addNorm(list, normEps);
  addWeight(list, "w", w.type);
  list.add("y", "rw", "array<f32>");
  const op = epilogue === "add" ? "+=" : "=";
  const code = rowKernel(
    list,
    `${consts}\n${softcap ? `const CAP = ${f32Literal(softcap)};` : ""}\n${weightFns("w", w)}`,
    w.m,
    tokenLoop(tb, rows, (toks, ts) => {
      const acc = ts.map((t) => `a${t}`);
      const sumSq = normEps === undefined ? undefined : ts.map((t) => `q${t}`);
      const scale = (t: number) => (sumSq ? ` * ${rmsScale(`q${t}`, w.k, "EPS")}` : "");
      const value = (t: number) =>
        softcap ? `CAP * tanh(clamp(a${t}${scale(t)} / CAP, -15.0, 15.0))` : `a${t}${scale(t)}`;
      return `${[...acc, ...(sumSq ?? [])].map((a) => `var ${a} = 0.0;`).join(" ")}
    ${dotRows("w", w, "row", toks, acc, sumSq ? { sumSq } : undefined)}
    ${ts.map((t) => `if (t0 + ${t}u < tEnd) { y[${out.replace("T_", `${t}u`)}] ${op} ${value(t)}; }`).join("\n    ")}`;
    }),
  );
  return {
    label: `matmul ${w.type} ${w.m}x${w.k} tb${tb} ${epilogue} ${rows}${normEps === undefined ? "" : " norm"}${softcap ? " softcap" : ""}${part ? ` rows ${part.row0}…` : ""}`,
    code,
    bindings: list.entries,
  };
}

/** How a gated FFN's two halves are laid out and combined. */
export interface GateSpec {
  /** Output rows (the FFN width). */
  rows: number;
  /** First row of the up half in its weight (the FFN width when gate and up are one tensor). */
  upRow0: number;
  /** silu (SwiGLU) or gelu (GeGLU, as ggml's CPU backend computes it: see GELU_F16). */
  act: "silu" | "gelu";
  /**
   * Gate and up split at rows: these `rows` outputs start at output row `row0` of the FFN's
   * `width` (the gate and up weights bound are those rows' parts, upRow0 0).
   */
  part?: { row0: number; width: number };
}

/**
 * ggml CPU's gelu: its f16 table, i.e. x rounded to f16, the tanh approximation, the result
 * rounded to f16 (x ≤ −10 gives 0, x ≥ 10 gives x). The runner compares with that backend.
 */
const GELU_F16 = `fn gelu_f16(x: f32) -> f32 {
  if (x <= -10.0) { return 0.0; }
  if (x >= 10.0) { return x; }
  let h = unpack2x16float(pack2x16float(vec2f(x, 0.0))).x;
  let u = clamp(0.7978845608028654 * h * (1.0 + 0.044715 * h * h), -15.0, 15.0);
  return unpack2x16float(pack2x16float(vec2f(0.5 * h * (1.0 + tanh(u)), 0.0))).x;
}`;

/** Y = act(N·Wgateᵀ) ∘ (N·Wupᵀ) with N = RMSNorm(X)·g, the FFN input. Bindings: x, g, wg, wu, y. */
export function swigluKernel(
  gate: WeightShape,
  up: WeightShape,
  eps: number,
  tb: number,
  spec: GateSpec = { rows: gate.m, upRow0: 0, act: "silu" },
  prenormed = false,
): KernelSource {
  const list = new BindingList();
  list.add("x", "read", "array<vec4f>");
  const consts = addNorm(list, eps);
  addWeight(list, "wg", gate.type);
  addWeight(list, "wu", up.type);
  list.add("y", "rw", "array<f32>");
  const code = rowKernel(
    list,
    `${consts}\n${weightFns("wg", gate)}\n${weightFns("wu", up)}\n${spec.act === "gelu" ? GELU_F16 : ""}`,
    spec.rows,
    tokenLoop(tb, "T", (toks, ts) => {
      const g = ts.map((t) => `g${t}`);
      const u = ts.map((t) => `u${t}`);
      const q = ts.map((t) => `q${t}`);
      return `${[...g, ...u, ...q].map((a) => `var ${a} = 0.0;`).join(" ")}
    ${dotRows("wg", gate, "row", toks, g, prenormed ? undefined : { sumSq: q })}
    ${dotRows("wu", up, `${spec.upRow0}u + row`, toks, u, prenormed ? undefined : {})}
    ${ts
      .map(
        (t) =>
          `if (t0 + ${t}u < tEnd) {
      let r = ${prenormed ? "1.0" : rmsScale(`q${t}`, gate.k, "EPS")};
      let gs = g${t} * r;
      y[${spec.part ? `(t0 + ${t}u) * ${spec.part.width}u + ${spec.part.row0}u + row` : `(t0 + ${t}u) * M + row`}] = ${spec.act === "gelu" ? "gelu_f16(gs)" : "gs / (1.0 + exp(-gs))"} * (u${t} * r);
    }`,
      )
      .join("\n    ")}`;
    }),
  );
  return {
    label: `${spec.act === "gelu" ? "geglu" : "swiglu"}+norm ${gate.type}/${up.type} ${spec.rows}x${gate.k} tb${tb}${spec.upRow0 ? " fused" : ""}${spec.part ? ` rows ${spec.part.row0}…` : ""}${prenormed ? " prenormed" : ""}`,
    code,
    bindings: list.entries,
  };
}

export interface QkvSpec {
  /** The weights (the same fused tensor three times when the file fuses them, see row0). */
  q: WeightShape;
  k: WeightShape;
  v: WeightShape;
  /** Output rows of Q and of K (= V); q.m and k.m unless the weights are fused. */
  qRows?: number;
  kRows?: number;
  /**
   * First row of Q, K and V in their weights ([0, 0, 0] unless fused; negative for a part of
   * a weight split at rows: its first row's index within Q, K or V, negated).
   */
  row0?: [number, number, number];
  /**
   * Only pairs first … first + count (of Q's, then K's, then V's): one part of a weight split at
   * rows, bound as q, k and v alike. Dispatch ⌈count/64⌉ along x.
   */
  pairs?: { first: number; count: number };
  headDim: number;
  nRot: number;
  /** RoPE pairs (i, i + nRot/2) within a head (llama.cpp's NEOX) instead of (2i, 2i+1). */
  neox?: boolean;
  /** g holds the norm weight, then the Q, K and V biases (added before RoPE). */
  bias?: boolean;
  /**
   * false: no RoPE, and K goes unrotated as f32 to `kraw` instead of the cache (a per-head
   * norm runs first, headNormRopeKernel); Q is stored unrotated in its pair slots.
   */
  rope?: boolean;
  contextSize: number;
  /** The attention RMSNorm's epsilon (X is normalized with weight g on the way in). */
  eps: number;
  tb: number;
  /**
   * X is the normalized input itself (the imatrix's f16-rounded one, kernels/imatrix.ts): no
   * RMSNorm on the way in; g still holds the biases after the norm weight.
   */
  prenormed?: boolean;
}

/**
 * WGSL setting ra, rb: the rows of head-pair slot `pair` (Q or K). With NEOX the pair is
 * (i, i + nRot/2); stored in slot i like a NORM pair, so Q and K share one permutation within
 * each head and Q·K (all attention reads of them) is unchanged.
 */
export function pairRows(pair: string, headDim: number, nRot: number, neox: boolean): string {
  if (!neox) return `let ra = 2u * ${pair}; let rb = ra + 1u;`;
  return `let ip_ = ${pair} % ${headDim / 2}u;
    let hb_ = ${pair} - ip_;
    var ra = 2u * hb_ + 2u * ip_;
    var rb = ra + 1u;
    if (ip_ < ${nRot / 2}u) { ra = 2u * hb_ + ip_; rb = ra + ${nRot / 2}u; }`;
}

/**
 * Attention RMSNorm and the Q, K and V projections in one dispatch, with RoPE applied to Q and
 * K, and K/V written as f16 pairs into this layer's cache at positions pos0 + t. One invocation
 * per output pair. Bindings: x, g, wq, wk, wv, qout, kcache (kraw without rope), vcache,
 * [inv_freq].
 */
export function qkvKernel(options: QkvSpec): KernelSource {
  const spec = {
    qRows: options.q.m,
    kRows: options.k.m,
    row0: [0, 0, 0] as [number, number, number],
    neox: false,
    bias: false,
    rope: true,
    prenormed: false,
    ...options,
  };
  const { q, k, v, headDim, nRot, contextSize, tb, row0 } = spec;
  const list = new BindingList();
  list.add("x", "read", "array<vec4f>");
  const consts = addNorm(list, spec.eps);
  addWeight(list, "wq", q.type);
  addWeight(list, "wk", k.type);
  addWeight(list, "wv", v.type);
  list.add("qout", "rw", "array<vec2f>");
  if (spec.rope) list.add("kcache", "rw", "array<u32>");
  else list.add("kraw", "rw", "array<vec2f>");
  list.add("vcache", "rw", "array<u32>");
  if (spec.rope) {
    list.add("inv_freq", "uniform", `array<vec4f, ${Math.max(1, Math.ceil(nRot / 8))}>`);
  }
  const nqp = spec.qRows / 2;
  const nkp = spec.kRows / 2;
  const nEmbd = q.k;
  const biasAt = (first: number, r: string) =>
    spec.bias ? ` + g[(${nEmbd + first}u + ${r}) / 4u][(${nEmbd + first}u + ${r}) % 4u]` : "";
  const pairBranch = (
    w: string,
    shape: WeightShape,
    rows: string,
    first: number,
    biasFirst: number,
    store: (t: string, r0: string, r1: string) => string,
  ) =>
    `${rows}
    ${tokenLoop(tb, "T", (toks, ts) => {
      const r0 = ts.map((t) => `r0_${t}`);
      const r1 = ts.map((t) => `r1_${t}`);
      const q = ts.map((t) => `q${t}`);
      const scaled = (t: number) => `
        let rs = ${spec.prenormed ? "1.0" : rmsScale(`q${t}`, shape.k, "EPS")};
        let n0 = r0_${t} * rs${biasAt(biasFirst, "ra")}; let n1 = r1_${t} * rs${biasAt(biasFirst, "rb")};`;
      return `${[...r0, ...r1, ...q].map((a) => `var ${a} = 0.0;`).join(" ")}
      ${dotRows(w, shape, offsetRow(first, "ra"), toks, r0, spec.prenormed ? undefined : { sumSq: q })}
      ${dotRows(w, shape, offsetRow(first, "rb"), toks, r1, spec.prenormed ? undefined : {})}
      ${ts.map((t) => `if (t0 + ${t}u < tEnd) { ${scaled(t)} ${store(`t0 + ${t}u`, "n0", "n1")} }`).join("\n      ")}`;
    })}`;
  const rope = (pair: string, t: string, r0: string, r1: string) =>
    spec.rope
      ? `
        let ip = ${pair} % HD2;
        var a = ${r0}; var b = ${r1};
        if (ip < ${nRot / 2}u) {
          let theta = f32(P.pos0 + ${t}) * inv_freq[ip / 4u][ip % 4u];
          let c = cos(theta); let s = sin(theta);
          a = ${r0} * c - ${r1} * s; b = ${r0} * s + ${r1} * c;
        }`
      : `
        let a = ${r0}; let b = ${r1};`;
  const cacheAt = (pair: string, t: string) =>
    `((${pair} / HD2) * CTX + P.pos0 + ${t}) * HD2 + ${pair} % HD2`;
  const qkRows = (pair: string) => pairRows(pair, headDim, nRot, spec.neox);
  const kStore = (t: string) =>
    spec.rope
      ? `kcache[${cacheAt("pk", t)}] = pack2x16float(vec2f(a, b));`
      : `kraw[(${t}) * ${nkp}u + pk] = vec2f(a, b);`;
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
  ${
    spec.pairs
      ? `if (gid.x >= ${spec.pairs.count}u) { return; }
  let p = ${spec.pairs.first}u + gid.x;`
      : "let p = gid.x;"
  }
  if (p < ${nqp}u) {
    ${pairBranch(
      "wq",
      q,
      qkRows("p"),
      row0[0],
      0,
      (t, r0, r1) =>
        `${rope("p", t, r0, r1)}
        qout[(${t}) * ${nqp}u + p] = vec2f(a, b);`,
    )}
  } else if (p < ${nqp + nkp}u) {
    let pk = p - ${nqp}u;
    ${pairBranch(
      "wk",
      k,
      qkRows("pk"),
      row0[1],
      spec.qRows,
      (t, r0, r1) => `${rope("pk", t, r0, r1)}
        ${kStore(t)}`,
    )}
  } else if (p < ${nqp + 2 * nkp}u) {
    let pv = p - ${nqp + nkp}u;
    ${pairBranch("wv", v, "let ra = 2u * pv; let rb = ra + 1u;", row0[2], spec.qRows + spec.kRows, (t, r0, r1) => `vcache[${cacheAt("pv", t)}] = pack2x16float(vec2f(${r0}, ${r1}));`)}
  }
}`;
  const pairs = spec.pairs ? ` pairs ${spec.pairs.first}+${spec.pairs.count}` : "";
  const variant = `${spec.neox ? " neox" : ""}${spec.bias ? " bias" : ""}${spec.rope ? "" : " raw"}${pairs}${spec.prenormed ? " prenormed" : ""}`;
  return {
    label: `norm+qkv ${q.type}/${k.type}/${v.type} tb${tb}${variant}`,
    code,
    bindings: list.entries,
  };
}

/** WGSL for row `row` shifted by `first` (a u32 expression; `first` may be negative). */
function offsetRow(first: number, row: string): string {
  return first < 0 ? `${row} - ${-first}u` : `${first}u + ${row}`;
}

/** Workgroups along x for `rows` output rows (or pairs) of a matmul-family kernel. */
export function matmulGroups(rows: number): number {
  return Math.ceil(rows / MATMUL_WG);
}

/** Workgroups along y for `tokens` token rows. */
export function tokenGroups(tokens: number): number {
  return Math.ceil(tokens / TOKEN_CHUNK);
}
