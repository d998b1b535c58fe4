/**
 * References made by llama.cpp on the CPU, kept per kind of CPU.
 *
 * llama.cpp's CPU backend picks its kernels by instruction set: an AVX-512 machine and an
 * AVX2-only machine run different dot products (and different weight repacking), so the same
 * model and text give figures that differ in the fourth digit (stories260K Q4_0 at ctx 64:
 * llama-perplexity 4.9197 on AVX-512, 4.9115 on AVX2), and the prebuilt node-llama-cpp binary
 * qbench drives follows the machine the same way. On a CPU with AMX (Sapphire Rapids and
 * later) the prebuilt loads ggml's `sapphirerapids` kernel library, whose AMX matmuls
 * (ggml-cpu/amx: Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K, IQ4_XS weights) round differently again:
 * stories260K Q8_0 vs F16 at ctx 128, 99.9 % KLD 0.0080075 there against 0.007893 on AVX-512
 * without AMX. So "amx" is a kind of its own. A test that holds qbench to llama.cpp's own
 * figure must use the figure llama.cpp gives on this kind of CPU, not a looser bound.
 *
 * `<name>.json` is the reference where it was first made (its `system_info` says on what);
 * `<name>.<kind>.json` beside it holds the same reference made on a CPU of another kind, by the
 * same script.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type CpuKind = "amx" | "avx512" | "avx2" | "other";

/** This machine's kind, from the flags the kernel reports (what ggml's CPU backend selects on). */
export function cpuKind(): CpuKind {
  let flags = "";
  try {
    flags = readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
  } catch {
    return "other";
  }
  return kindOfCpuFlags(flags);
}

/** The kind of a CPU whose /proc/cpuinfo `flags` line is `flags`. */
export function kindOfCpuFlags(flags: string): CpuKind {
  const has = (flag: string) => new RegExp(`\\b${flag}\\b`).test(flags);
  // ggml's sapphirerapids variant (ggml/src/CMakeLists.txt): AVX512 VBMI VNNI BF16 AMX_TILE AMX_INT8.
  const amx = ["avx512f", "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"];
  if (amx.every(has)) return "amx";
  if (has("avx512f")) return "avx512";
  if (has("avx2")) return "avx2";
  return "other";
}

/** The kind a llama.cpp `system_info` line names ("… AVX2 = 1 | … AVX512 = 1 | … AMX_INT8 = 1 | …"). */
export function kindOfSystemInfo(systemInfo: string): CpuKind {
  if (/\bAMX_INT8 = 1\b/.test(systemInfo)) return "amx";
  if (/\bAVX512 = 1\b/.test(systemInfo)) return "avx512";
  if (/\bAVX2 = 1\b/.test(systemInfo)) return "avx2";
  return "other";
}

/** The kind a reference's text records in a `system_info` field or line; undefined when none. */
export function recordedKind(text: string): CpuKind | undefined {
  const info = text.match(/system_info"?\s*[:=]\s*"?([^"\n]*)/)?.[1];
  return info === undefined ? undefined : kindOfSystemInfo(info);
}

/** `<name>.<kind>.<ext>` for `file` in `dir`. */
function kindPath(dir: string, file: string, kind: CpuKind): string {
  const dot = file.lastIndexOf(".");
  return join(dir, `${file.slice(0, dot)}.${kind}${file.slice(dot)}`);
}

/**
 * Where a make script run on this machine writes the reference `file` (in `dir`): `file` itself
 * when there is none yet, when it records this machine's kind, or when QBENCH_REFERENCE_BASE=1
 * asks for it; else `<name>.<kind>.<ext>`, so that a reference made on another kind of CPU (or
 * one that does not say on what) stays as it is and `referenceFor` picks the new one here.
 */
export function referenceTarget(
  dir: string,
  file: string,
  kindOf: (text: string) => CpuKind | undefined = recordedKind,
): string {
  const base = join(dir, file);
  if (process.env.QBENCH_REFERENCE_BASE === "1" || !existsSync(base)) return base;
  const kind = cpuKind();
  return kindOf(readFileSync(base, "utf8")) === kind ? base : kindPath(dir, file, kind);
}

/**
 * The path of the reference `file` (in `dir`) made on this kind of CPU: `<name>.<kind>.<ext>`
 * when there is one, else `file` itself when its kind (`kindOf`, from its contents) is this
 * machine's or cannot be told. Otherwise it throws, naming the script that makes the missing one.
 */
export function referenceFor(
  dir: string,
  file: string,
  script: string,
  kindOf: (text: string) => CpuKind | undefined = recordedKind,
  kind: CpuKind = cpuKind(),
): string {
  const own = kindPath(dir, file, kind);
  if (existsSync(own)) return own;
  const base = join(dir, file);
  const madeOn = kindOf(readFileSync(base, "utf8"));
  if (madeOn === undefined || madeOn === kind) return base;
  throw new Error(
    `${base} was made by llama.cpp on an ${madeOn} CPU and this one is ${kind}; ` +
      `llama.cpp's figures differ between the two. Run ${script} here (with llama.cpp's tools ` +
      `built on this machine) to write ${own}.`,
  );
}

/** `referenceFor`, read as JSON. */
export function readReference<T>(dir: string, file: string, script: string): T {
  return JSON.parse(readFileSync(referenceFor(dir, file, script), "utf8")) as T;
}
