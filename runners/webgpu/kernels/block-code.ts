/**
 * WGSL that decodes ggml's block formats from their GPU layout (weight-layout.ts): a block's
 * elements come in groups sharing one scale (and, for some types, an offset), each group read
 * as quads. Per binding `w`: `w_grp(gi) -> vec2f` gives (scale, offset) of group gi of the
 * tensor, `w_quad(gi, j) -> vec4f` the integer levels of its quad j, so element = scale·level
 * + offset, as ggml's dequantize_row_* compute it (ggml-quants.c).
 */
import { BLOCKS, blockWords, scaleOffsetWords, type WeightType } from "../weight-layout.js";

interface GroupFormat {
  /** Elements per group. */
  size: number;
  /** Whether the group has an offset (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K), else it is 0. */
  offset: boolean;
  /** Body of `w_grp`, given `sub` (group in block), `base` (block's first word), `H` (split f16). */
  grp: string;
  /** Body of `w_quad`, given `sub`, `base`, `j`. */
  quad: string;
  /** Uses the IQ4 value table. */
  table?: boolean;
}

/** Word `o` of the block. */
const W = (o: string) => `w[base + ${o}]`;
/** Byte `o` of the block (`o` a u32 expression). */
const B = (o: string) => `((w[base + ((${o}) >> 2u)] >> (((${o}) & 3u) * 8u)) & 0xffu)`;
/** The four bytes of word `o`, one per lane, shifted right by `by` bits and masked. */
const lanes = (o: string, by: string, mask: number) =>
  `((vec4u(${W(o)}) >> vec4u(0u, 8u, 16u, 24u)) >> vec4u(${by})) & vec4u(${mask}u)`;
/** ggml's get_scale_min_k4 on the 12 scale bytes at byte 4: 6-bit scale and min of sub-block `sub`. */
const SCALE_MIN_K4 = `
    var sc: u32; var mn: u32;
    if (sub < 4u) { sc = ${B("4u + sub")} & 63u; mn = ${B("8u + sub")} & 63u; }
    else {
      sc = (${B("8u + sub")} & 15u) | ((${B("sub")} >> 6u) << 4u);
      mn = (${B("8u + sub")} >> 4u) | ((${B("4u + sub")} >> 6u) << 4u);
    }
    let dm = unpack2x16float(${W("0u")});
    return vec2f(dm.x * f32(sc), -(dm.y * f32(mn)));`;
/** A 2-bit-level quad of a 256-element block whose groups are 16 (Q2_K, Q3_K): qs from word `qs`. */
const K16_POSITION = `let el = sub * 16u + 4u * j; let n = el / 128u; let jj = (el % 128u) / 32u; let l2 = el % 32u;`;

const GROUPS: Partial<Record<WeightType, GroupFormat>> = {
  Q4_1: {
    size: 32,
    offset: true,
    grp: `return unpack2x16float(${W("0u")});`,
    quad: `return vec4f(${lanes("1u + j % 4u", "4u * (j / 4u)", 15)});`,
  },
  Q5_0: {
    size: 32,
    offset: false,
    grp: "return vec2f(H, 0.0);",
    quad: `let lo = ${lanes("1u + j % 4u", "4u * (j / 4u)", 15)};
    let hi = (vec4u(${W("0u")}) >> (vec4u(0u, 1u, 2u, 3u) + 4u * j)) & vec4u(1u);
    return vec4f(lo | (hi << vec4u(4u))) - 16.0;`,
  },
  Q5_1: {
    size: 32,
    offset: true,
    grp: `return unpack2x16float(${W("0u")});`,
    quad: `let lo = ${lanes("2u + j % 4u", "4u * (j / 4u)", 15)};
    let hi = (vec4u(${W("1u")}) >> (vec4u(0u, 1u, 2u, 3u) + 4u * j)) & vec4u(1u);
    return vec4f(lo | (hi << vec4u(4u)));`,
  },
  Q2_K: {
    size: 16,
    offset: true,
    grp: `let sc = ${B("sub")};
    let dm = unpack2x16float(${W("20u")});
    return vec2f(dm.x * f32(sc & 15u), -(dm.y * f32(sc >> 4u)));`,
    quad: `${K16_POSITION}
    return vec4f(${lanes("4u + (n * 32u + l2) / 4u", "2u * jj", 3)});`,
  },
  Q3_K: {
    size: 16,
    offset: false,
    grp: `let lo = (${B("96u + sub % 8u")} >> (4u * (sub / 8u))) & 15u;
    let hi = (${B("104u + sub % 4u")} >> (2u * (sub / 4u))) & 3u;
    return vec2f(H * f32(i32(lo | (hi << 4u)) - 32), 0.0);`,
    quad: `${K16_POSITION}
    let q = ${lanes("8u + (n * 32u + l2) / 4u", "2u * jj", 3)};
    let h = ${lanes("l2 / 4u", "n * 4u + jj", 1)};
    return vec4f(q) + 4.0 * vec4f(h) - 4.0;`,
  },
  Q4_K: {
    size: 32,
    offset: true,
    grp: SCALE_MIN_K4,
    quad: `return vec4f(${lanes("4u + (sub / 2u) * 8u + j", "4u * (sub % 2u)", 15)});`,
  },
  Q5_K: {
    size: 32,
    offset: true,
    grp: SCALE_MIN_K4,
    quad: `let lo = ${lanes("12u + (sub / 2u) * 8u + j", "4u * (sub % 2u)", 15)};
    let hi = ${lanes("4u + j", "sub", 1)};
    return vec4f(lo + 16u * hi);`,
  },
  Q6_K: {
    size: 16,
    offset: false,
    grp: `let sc = bitcast<i32>(${B("192u + sub")} << 24u) >> 24u;
    return vec2f(H * f32(sc), 0.0);`,
    quad: `let el = sub * 16u + 4u * j; let n = el / 128u; let c = (el % 128u) / 32u; let l = el % 32u;
    let lo = ${lanes("(n * 64u + 32u * (c % 2u) + l) / 4u", "4u * (c / 2u)", 15)};
    let hi = ${lanes("32u + (n * 32u + l) / 4u", "2u * c", 3)};
    return vec4f(lo | (hi << vec4u(4u))) - 32.0;`,
  },
  IQ4_NL: {
    size: 32,
    offset: false,
    table: true,
    grp: "return vec2f(H, 0.0);",
    quad: `let i = ${lanes("j % 4u", "4u * (j / 4u)", 15)};
    return vec4f(KV[i.x], KV[i.y], KV[i.z], KV[i.w]);`,
  },
  IQ4_XS: {
    size: 32,
    offset: false,
    table: true,
    grp: `let w0 = ${W("0u")};
    let ls = ((${B("4u + sub / 2u")} >> (4u * (sub % 2u))) & 15u) | (((w0 >> (16u + 2u * sub)) & 3u) << 4u);
    return vec2f(unpack2x16float(w0).x * f32(i32(ls) - 32), 0.0);`,
    quad: `let i = ${lanes("2u + sub * 4u + j % 4u", "4u * (j / 4u)", 15)};
    return vec4f(KV[i.x], KV[i.y], KV[i.z], KV[i.w]);`,
  },
};

/** kvalues_iq4nl (ggml-common.h). */
const IQ4_VALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** Whether `type` is decoded through the group functions here. */
export function hasGroupCode(type: WeightType): boolean {
  return GROUPS[type] !== undefined;
}

/** Elements per group of a grouped type. */
export function groupSize(type: WeightType): number {
  const g = GROUPS[type];
  if (!g) throw new Error(`${type} is not a grouped block type`);
  return g.size;
}

/** Whether a grouped type's elements carry an offset (so a dot product needs Σx). */
export function groupHasOffset(type: WeightType): boolean {
  return GROUPS[type]?.offset ?? false;
}

/** `fn {w}_grp` and `fn {w}_quad` for binding `w` holding `elements` elements of `type`. */
export function groupFns(w: string, type: WeightType, elements: number): string {
  const g = GROUPS[type];
  const layout = BLOCKS[type];
  if (!g || !layout) throw new Error(`${type} is not a grouped block type`);
  const perBlock = layout.elements / g.size;
  const blocks = elements / layout.elements;
  const words = blockWords(type);
  const head = (name: string, args: string, ret: string) => `fn ${w}_${name}(${args}) -> ${ret} {
    let blk = gi / ${perBlock}u; let sub = gi % ${perBlock}u; let base = blk * ${words}u;`;
  const half =
    layout.halfAt === undefined
      ? ""
      : `let H = unpack2x16float(w[${scaleOffsetWords(type, blocks)}u + (blk >> 1u)])[blk & 1u];`;
  const rename = (body: string) => body.replaceAll("w[", `${w}[`).replaceAll("KV[", `KV_${w}[`);
  const table = g.table
    ? `const KV_${w} = array<f32, 16>(${IQ4_VALUES.map((v) => `${v}.0`).join(", ")});\n`
    : "";
  return `${table}${head("grp", "gi: u32", "vec2f")} ${rename(half)}
    ${rename(g.grp)}
  }
  ${head("quad", "gi: u32, j: u32", "vec4f")}
    ${rename(g.quad)}
  }`;
}
