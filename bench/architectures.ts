// Agreement of the WebGPU runner with llama.cpp CPU per architecture and format, on the
// random-weight models of test/runners/webgpu/arch-models.ts (each architecture's real layout):
// same top token and mean KLD over the perplexity fixture's 1,890 scored positions, perplexity
// ratio, identical greedy 32-token continuations of 16 story openings. Formats other than
// f32/f16 are the F16 file quantized by qbench's quantizer (`qbench quantize --type`'s mix);
// --floor adds llama.cpp's agreement with itself (flash attention on vs off) on the same file.
// The test (test/runners/webgpu/architectures.test.ts) runs a subset.
// Run: npx tsc -p tsconfig.json && node dist/bench/architectures.js [--arch llama,qwen2,qwen3,phi3,gemma,gemma2,gemma3] [--format f32,f16,q8_0,q4_k_m] [--floor]
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type Arch,
  archModel,
  archQuantized,
  removeArchModels,
} from "../test/runners/webgpu/arch-models.js";
import { compareWithLlamaCpp } from "../test/runners/webgpu/compare.js";
import { ROOT } from "../test/support/paths.js";

const { values } = parseArgs({
  options: {
    arch: { type: "string", default: "llama,qwen2,qwen3,phi3,gemma,gemma2,gemma3" },
    format: { type: "string", default: "f32,f16" },
    floor: { type: "boolean", default: false },
  },
});

/** llama.cpp CPU with flash attention on vs off on `path` (bench/webgpu.ts --floor-only). */
function floor(path: string): string {
  const out = execFileSync(
    process.execPath,
    [join(ROOT, "dist/bench/webgpu.js"), "--floor-only", "--threads", "1", path],
    { encoding: "utf8" },
  );
  const m = /same top ([\d.]+)%, mean KLD ([\d.e+-]+)/.exec(out);
  return m ? `${m[1]} %, ${Number(m[2]).toExponential(1)}` : "?";
}

console.log(
  `| architecture | format | same top | mean KLD | ppl WebGPU / llama.cpp | greedy identical |${values.floor ? " llama.cpp vs itself: same top, KLD |" : ""}`,
);
console.log(`| --- | --- | --- | --- | --- | --- |${values.floor ? " --- |" : ""}`);
try {
  for (const arch of (values.arch as string).split(",") as Arch[]) {
    for (const format of (values.format as string).split(",")) {
      const path =
        format === "f32" || format === "f16"
          ? await archModel(arch, format)
          : await archQuantized(arch, format);
      const r = await compareWithLlamaCpp(path, { ctx: 128, vocab: 512 });
      const ratio = r.ppl / r.llamaPpl;
      console.log(
        `| ${arch} | ${format.toUpperCase()} | ${r.sameTopPct.toFixed(2)} % | ${r.meanKld.toExponential(1)} | ${r.ppl.toFixed(3)} / ${r.llamaPpl.toFixed(3)} (${ratio.toFixed(5)}) | ${r.greedyIdentical} / ${r.prompts} |${values.floor ? ` ${floor(path)} |` : ""}`,
      );
    }
  }
} finally {
  removeArchModels();
}
