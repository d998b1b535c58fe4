// Agreement of the WebGPU runner with llama.cpp CPU per architecture and format, on the
// random-weight models of test/runners/webgpu/arch-models.ts (each architecture's real layout):
// same top token and mean KLD over the perplexity fixture's 1,890 scored positions, perplexity
// ratio, identical greedy 32-token continuations of 16 story openings. The test runs a subset.
// Run: npx tsc -p tsconfig.json && node dist/bench/architectures.js [--arch llama,qwen2,qwen3,phi3,gemma2] [--format f32,f16]
import { parseArgs } from "node:util";
import {
  type Arch,
  archModel,
  type Format,
  removeArchModels,
} from "../test/runners/webgpu/arch-models.js";
import { compareWithLlamaCpp } from "../test/runners/webgpu/compare.js";

const { values } = parseArgs({
  options: {
    arch: { type: "string", default: "llama,qwen2,qwen3,phi3,gemma2" },
    format: { type: "string", default: "f32,f16" },
  },
});
console.log(
  "| architecture | format | same top | mean KLD | ppl WebGPU / llama.cpp | greedy identical |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
try {
  for (const arch of (values.arch as string).split(",") as Arch[]) {
    for (const format of (values.format as string).split(",") as Format[]) {
      const r = await compareWithLlamaCpp(await archModel(arch, format), { ctx: 128, vocab: 512 });
      const ratio = r.ppl / r.llamaPpl;
      console.log(
        `| ${arch} | ${format.toUpperCase()} | ${r.sameTopPct.toFixed(2)} % | ${r.meanKld.toExponential(1)} | ${r.ppl.toFixed(3)} / ${r.llamaPpl.toFixed(3)} (${ratio.toFixed(5)}) | ${r.greedyIdentical} / ${r.prompts} |`,
      );
    }
  }
} finally {
  removeArchModels();
}
