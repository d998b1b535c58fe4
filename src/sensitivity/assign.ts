import { QUANTIZE_TARGETS, type QuantizeTarget } from "../gguf/quantize/formats.js";
import type { TensorTypeOverride } from "../gguf/quantize/mix.js";
import { effectiveType, type QuantizableTensor, type TensorGroup, typeName } from "./groups.js";

/** Each quantizable tensor's ggml type in a variant file (tensors not named keep their source type). */
export type Assignment = ReadonlyMap<string, number>;

/** What `--mode` quantizes: only the group, or every quantizable tensor except the group. */
export const MODES = ["only", "except"] as const;
export type Mode = (typeof MODES)[number];

/** The variant of a sensitivity pass: the group's tensors in `type` (only), or all the others (except). */
export function groupAssignment(
  tensors: readonly QuantizableTensor[],
  group: TensorGroup,
  type: number,
  mode: Mode,
): Assignment {
  const inGroup = new Set(group.tensors.map((t) => t.name));
  return new Map(
    tensors.map((t) => [t.name, inGroup.has(t.name) === (mode === "only") ? type : t.type]),
  );
}

/** A key equal for two assignments that write the same file (fall-backs applied). */
export function assignmentKey(tensors: readonly QuantizableTensor[], a: Assignment): string {
  return tensors.map((t) => effectiveType(t, a.get(t.name) ?? t.type)).join(",");
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The anchored regex llama-quantize's --tensor-type finds in exactly this tensor's name. */
export function exactPattern(name: string): string {
  return `^${escapeRegex(name)}$`;
}

/**
 * `--pure` plus one `--tensor-type` per tensor whose type is not the base type: what both
 * quantizers (qbench's and llama-quantize) need to write exactly the assignment.
 */
export function assignmentOverrides(
  tensors: readonly QuantizableTensor[],
  a: Assignment,
  baseType: number,
): { pattern: string; type: number }[] {
  return tensors
    .map((t) => ({ pattern: exactPattern(t.name), type: a.get(t.name) ?? t.type }))
    .filter((o) => o.type !== baseType);
}

export function toOverrides(
  list: readonly { pattern: string; type: number }[],
): TensorTypeOverride[] {
  return list.map((o) => ({ pattern: new RegExp(o.pattern), type: o.type }));
}

/** The quantize target whose default tensor type is `type` (its pure form is the base of a recipe). */
export function targetFor(type: number): QuantizeTarget {
  const target =
    QUANTIZE_TARGETS.find((t) => t.format.type === type && t.name.endsWith("_m")) ??
    QUANTIZE_TARGETS.find((t) => t.format.type === type);
  if (!target) throw new Error(`no quantize target writes ${typeName(type)} by default`);
  return target;
}

/** The llama-quantize command line of an assignment, shell-quoted. */
export function recipeArguments(
  overrides: readonly { pattern: string; type: number }[],
  base: QuantizeTarget,
): string[] {
  return [
    "--pure",
    ...overrides.flatMap((o) => [
      "--tensor-type",
      `'${o.pattern}=${typeName(o.type).toLowerCase()}'`,
    ]),
    "MODEL-F16.gguf",
    "OUT.gguf",
    base.name.toUpperCase(),
  ];
}
