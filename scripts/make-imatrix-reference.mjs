#!/usr/bin/env node
/**
 * MAINTAINERS ONLY (CI never runs it): regenerates test/fixtures/imatrix/*.imatrix.gguf, what
 * llama-imatrix (built from node-llama-cpp's bundled llama.cpp, CPU, 1 thread) writes for
 * test/fixtures/ppl/stories.txt at ctx 128 on
 *   - stories260K F32 and F16 (../shared/models),
 *   - the real-shape random model (test/support/real-shape.ts: Llama 3's 128,256-token
 *     tokenizer, 2 layers, embedding 256, F16), written from its fixed seed.
 * Each twice: with llama.cpp's default attention (flash attention, `NAME.imatrix.gguf`) and with
 * `-fa off` (`NAME.fa-off.imatrix.gguf`), so the tests know how far llama.cpp's two attention
 * paths differ from each other. The files are llama-imatrix's own output, byte for byte (a few
 * kB each). The values depend on the CPU's SIMD paths (silu, exp, sum order) at about 1e-4, so
 * they are kept per kind of CPU (test/support/cpu-reference.ts): `NAME.imatrix.gguf` as first
 * made (on AVX-512), `NAME.imatrix.KIND.gguf` beside it from a CPU of another kind (`--kind`,
 * e.g. avx2: the tests read it on such a machine). A GGUF imatrix records no system_info, so
 * the script writes llama-imatrix's system_info line beside them: `system-info.txt` for the base
 * files, `system-info.KIND.txt` for `--kind KIND`'s (docs/imatrix.md, Agreement).
 *
 *   npx tsc -p tsconfig.json && node scripts/make-imatrix-reference.mjs --tools /tmp/llama-src/build/bin [--kind avx2]
 *
 * --models: the folder of stories260K-*.gguf (default ../shared/models);
 * --vocab: the vocab-only GGUF (default /tmp/llama-src/models/ggml-vocab-llama-bpe.gguf).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeRealShape } from "../dist/test/support/real-shape.js";

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const root = fileURLToPath(new URL("../", import.meta.url));
const tools = arg("--tools", "/tmp/llama-src/build/bin");
const models = arg("--models", join(root, "../shared/models"));
const vocab = arg("--vocab", "/tmp/llama-src/models/ggml-vocab-llama-bpe.gguf");
const out = join(root, "test/fixtures/imatrix");
/** `--kind avx2`: write `NAME.imatrix.avx2.gguf` and `system-info.avx2.txt`, leaving the base files. */
const kind = arg("--kind", "");
if (kind !== "" && !/^[a-z0-9]+$/.test(kind))
  throw new Error(`--kind ${kind}: expected a CPU kind such as avx2`);
const tag = kind === "" ? "" : `.${kind}`;
/** llama-imatrix's system_info line (the same for every run of one build on one machine). */
let systemInfo;
const work = mkdtempSync(join(tmpdir(), "imatrix-reference-"));
/** As the test passes it to qbench imatrix: imatrix.datasets records it as given. */
const TEXT = "test/fixtures/ppl/stories.txt";
const CTX = 128;

function imatrix(model, name) {
  for (const [suffix, extra] of [
    ["", []],
    [".fa-off", ["-fa", "off"]],
  ]) {
    const file = join(out, `${name}${suffix}.imatrix${tag}.gguf`);
    const args = ["-m", model, "-f", TEXT, "-c", String(CTX), "-t", "1", "--no-ppl", "-o", file];
    const result = spawnSync(join(tools, "llama-imatrix"), [...args, ...extra], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    if (result.status !== 0)
      throw new Error(`llama-imatrix ${args.join(" ")} failed:\n${result.stderr}`);
    systemInfo ??= result.stderr.match(/\bsystem_info: (.*)$/m)?.[1]?.trim();
    process.stderr.write(`wrote ${file}\n`);
  }
}

try {
  mkdirSync(out, { recursive: true });
  imatrix(join(models, "stories260K-f32.gguf"), "stories260K-f32");
  imatrix(join(models, "stories260K-f16.gguf"), "stories260K-f16");
  const realShape = join(work, "real-shape-f16.gguf");
  await writeRealShape(realShape, vocab);
  imatrix(realShape, "real-shape-f16");
  if (systemInfo === undefined) throw new Error("llama-imatrix printed no system_info line");
  writeFileSync(join(out, `system-info${tag}.txt`), `system_info: ${systemInfo}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
