/**
 * WGSL that reads a weight in its GGUF type (see weights.ts for the GPU layout), dequantized
 * in registers and multiplied with f32 activations. (llama.cpp's CPU backend quantizes the
 * activations to Q8_0 for quantized weights; docs/webgpu.md says why we do not.)
 */
import { scaleOffsetWords, type WeightType } from "../weight-layout.js";
import { groupFns, groupHasOffset, groupSize, hasGroupCode } from "./block-code.js";
import type { BindingList } from "./kernel.js";

export interface WeightShape {
  type: WeightType;
  /** Row length, a multiple of 4 (of the block size for quantized types). */
  k: number;
  m: number;
}

/** The WGSL element of a weight binding: four elements (F32, F16, BF16) or a word of blocks. */
function element(type: WeightType): string {
  return type === "F32" ? "vec4f" : type === "F16" || type === "BF16" ? "vec2u" : "u32";
}

export function addWeight(list: BindingList, name: string, type: WeightType): void {
  list.add(name, "read", `array<${element(type)}>`);
}

/** The module-scope functions a weight binding's code calls (the block decoders), if any. */
export function weightFns(w: string, s: WeightShape): string {
  return hasGroupCode(s.type) ? groupFns(w, s.type, s.k * s.m) : "";
}

/** Four halves (vec2u) of a 16-bit float type as a vec4f. */
function halves(type: "F16" | "BF16", p: string): string {
  return type === "F16"
    ? `vec4f(unpack2x16float(${p}.x), unpack2x16float(${p}.y))`
    : `vec4f(bitcast<f32>(${p}.x << 16u), bitcast<f32>(${p}.x & 0xffff0000u), bitcast<f32>(${p}.y << 16u), bitcast<f32>(${p}.y & 0xffff0000u))`;
}

/** The block scale of block `blk` of weight `w` (an f16 in the scales region). */
function scale(w: string, s: WeightShape, blk: string): string {
  const offset = scaleOffsetWords(s.type, (s.k * s.m) / 32);
  return `unpack2x16float(${w}[${offset}u + (${blk} >> 1u)])[${blk} & 1u]`;
}

/** Sign-extends the four int8 in a u32 word. */
export const UNPACK_I8 = `fn unpack_i8(w: u32) -> vec4i {
  return bitcast<vec4i>(vec4u(w) << vec4u(24u, 16u, 8u, 0u)) >> vec4u(24u);
}`;

/** RMSNorm fused into a dot product: X is scaled by the norm weight `g` on the fly. */
export interface FusedNorm {
  /** Per token, an f32 variable accumulating Σx² (only one dotRows per token needs it). */
  sumSq?: string[];
}

/**
 * Statements adding `Σ_k W[row, k] · X[tok, k]` (· g[k] with `norm`, g an array<vec4f>) to
 * `acc[t]` for each token row `toks[t]` (WGSL u32 expressions) of `x: array<vec4f>`.
 * Needs UNPACK_I8 and weightFns(w, s) in the module.
 */
export function dotRows(
  w: string,
  s: WeightShape,
  row: string,
  toks: string[],
  acc: string[],
  norm?: FusedNorm,
): string {
  const k4 = s.k / 4;
  const nb = s.k / 32;
  const each = (f: (t: number) => string) => toks.map((_, t) => f(t)).join(" ");
  /** Loads token t's x at vec4 index `i` into `name`, scaled by g and counted in Σx². */
  const load = (t: number, name: string, i: string) => {
    if (!norm) return `let ${name} = x[xb${t} + ${i}];`;
    const square = norm.sumSq ? ` ${norm.sumSq[t]} += dot(${name}_raw, ${name}_raw);` : "";
    return `let ${name}_raw = x[xb${t} + ${i}]; let ${name} = ${name}_raw * g[${i}];${square}`;
  };
  const sum = (t: number) => `(s${t}.x + s${t}.y + s${t}.z + s${t}.w)`;
  if (s.type === "F32" || s.type === "F16" || s.type === "BF16") {
    const weight =
      s.type === "F32"
        ? `let w = ${w}[wb + k];`
        : `let p = ${w}[wb + k]; let w = ${halves(s.type, "p")};`;
    return `{
      let wb = (${row}) * ${k4}u;
      ${each((t) => `let xb${t} = (${toks[t]}) * ${k4}u; var s${t} = vec4f(0.0);`)}
      for (var k = 0u; k < ${k4}u; k++) {
        ${weight}
        ${each((t) => `${load(t, `x${t}`, "k")} s${t} += w * x${t};`)}
      }
      ${each((t) => `${acc[t]} += ${sum(t)};`)}
    }`;
  }
  if (hasGroupCode(s.type)) return groupDot(w, s, row, toks, acc, load);
  const inner =
    s.type === "Q8_0"
      ? `for (var j = 0u; j < 8u; j++) {
          let w = vec4f(unpack_i8(${w}[blk * 8u + j]));
          ${each((t) => `${load(t, `x${t}`, "b * 8u + j")} s${t} += w * x${t};`)}
        }`
      : `for (var j = 0u; j < 4u; j++) {
          let q = vec4u(${w}[blk * 4u + j]) >> vec4u(0u, 8u, 16u, 24u);
          let lo = vec4f(q & vec4u(15u)) - 8.0;
          let hi = vec4f((q >> vec4u(4u)) & vec4u(15u)) - 8.0;
          ${each((t) => `${load(t, `l${t}`, "b * 8u + j")} ${load(t, `h${t}`, "b * 8u + j + 4u")} s${t} += lo * l${t} + hi * h${t};`)}
        }`;
  return `{
    let bb = (${row}) * ${nb}u;
    ${each((t) => `let xb${t} = (${toks[t]}) * ${k4}u;`)}
    for (var b = 0u; b < ${nb}u; b++) {
      let blk = bb + b;
      let d = ${scale(w, s, "blk")};
      ${each((t) => `var s${t} = vec4f(0.0);`)}
      ${inner}
      ${each((t) => `${acc[t]} += d * ${sum(t)};`)}
    }
  }`;
}

/** dotRows for the grouped block types: Σ scale·(Σ level·x) + offset·(Σ x) per group. */
function groupDot(
  w: string,
  s: WeightShape,
  row: string,
  toks: string[],
  acc: string[],
  load: (t: number, name: string, i: string) => string,
): string {
  const size = groupSize(s.type);
  const perRow = s.k / size;
  const quads = size / 4;
  const offset = groupHasOffset(s.type);
  const each = (f: (t: number) => string) => toks.map((_, t) => f(t)).join(" ");
  const sum = (v: string) => `(${v}.x + ${v}.y + ${v}.z + ${v}.w)`;
  return `{
    let gb = (${row}) * ${perRow}u;
    ${each((t) => `let xb${t} = (${toks[t]}) * ${s.k / 4}u;`)}
    for (var gr = 0u; gr < ${perRow}u; gr++) {
      let gi = gb + gr;
      let dm = ${w}_grp(gi);
      ${each((t) => `var s${t} = vec4f(0.0);${offset ? ` var z${t} = vec4f(0.0);` : ""}`)}
      for (var j = 0u; j < ${quads}u; j++) {
        let q = ${w}_quad(gi, j);
        ${each((t) => `${load(t, `x${t}`, `gr * ${quads}u + j`)} s${t} += q * x${t};${offset ? ` z${t} += x${t};` : ""}`)}
      }
      ${each((t) => `${acc[t]} += dm.x * ${sum(`s${t}`)}${offset ? ` + dm.y * ${sum(`z${t}`)}` : ""};`)}
    }
  }`;
}

/** The RMSNorm scale 1/sqrt(mean(x²) + eps) of a row of `k` elements from its Σx². */
export function rmsScale(sumSq: string, k: number, eps: string): string {
  return `inverseSqrt(${sumSq} / ${k}.0 + ${eps})`;
}

/**
 * `fn load4_<w>(row, k4) -> vec4f`: elements 4·k4 … 4·k4+3 of a row, dequantized to f32.
 * Needs weightFns(w, s) in the module.
 */
export function load4Fn(w: string, s: WeightShape): string {
  const k4 = s.k / 4;
  const nb = s.k / 32;
  const head = `fn load4_${w}(row: u32, k4: u32) -> vec4f {`;
  switch (s.type) {
    case "F32":
      return `${head} return ${w}[row * ${k4}u + k4]; }`;
    case "F16":
    case "BF16":
      return `${head} let p = ${w}[row * ${k4}u + k4];
        return ${halves(s.type, "p")}; }`;
    case "Q8_0":
      return `${head} let blk = row * ${nb}u + k4 / 8u;
        return ${scale(w, s, "blk")} * vec4f(unpack_i8(${w}[blk * 8u + k4 % 8u])); }`;
    case "Q4_0":
      return `${head} let blk = row * ${nb}u + k4 / 8u;
        let j = k4 % 8u;
        let q = (vec4u(${w}[blk * 4u + j % 4u]) >> vec4u(select(0u, 4u, j >= 4u))) >> vec4u(0u, 8u, 16u, 24u);
        return ${scale(w, s, "blk")} * (vec4f(q & vec4u(15u)) - 8.0); }`;
    default: {
      const size = groupSize(s.type);
      return `${head} let at = row * ${s.k}u + 4u * k4;
        let gi = at / ${size}u;
        let dm = ${w}_grp(gi);
        return dm.x * ${w}_quad(gi, (at % ${size}u) / 4u) + dm.y; }`;
    }
  }
}
