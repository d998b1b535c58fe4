import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { readGguf } from "../../lib/gguf/reader.js";
import { fp16ToFp32, fp32ToFp16 } from "../../src/gguf/fp16.js";
import { writeGguf } from "../../src/gguf/writer.js";
import { ROOT } from "./paths.js";

export const DEMO_MODEL = join(ROOT, "models/demo/demo-f16.gguf");
const F16 = 1;

/**
 * The demo model with one fragile layer: in every F16 matrix of `blk.<layer>`, one weight per
 * block of 32 is set to `scale` × its row's largest |w| (sign kept), the outliers that make a
 * 4- or 5-bit block's scale useless for the other 31 weights while 8 bits still resolve them.
 */
export async function writeFragileDemo(path: string, layer: number, scale = 10): Promise<void> {
  const file = await readGguf(DEMO_MODEL);
  const fh = await open(DEMO_MODEL, "r");
  try {
    const tensors = [];
    for (const t of file.tensors) {
      const data = new Uint8Array(t.byteSize);
      await fh.read(data, 0, t.byteSize, file.dataOffset + t.offset);
      if (t.type === F16 && t.dims.length >= 2 && t.name.startsWith(`blk.${layer}.`)) {
        addOutliers(
          new Uint16Array(data.buffer, data.byteOffset, t.elementCount),
          t.dims[0] ?? 1,
          scale,
        );
      }
      tensors.push({ name: t.name, dims: t.dims, type: t.type, data });
    }
    await writeGguf(path, { version: 3, metadata: file.metadata, tensors });
  } finally {
    await fh.close();
  }
}

function addOutliers(halves: Uint16Array, rowLength: number, scale: number): void {
  for (let row = 0; row * rowLength < halves.length; row++) {
    const at = row * rowLength;
    let max = 0;
    for (let i = 0; i < rowLength; i++)
      max = Math.max(max, Math.abs(fp16ToFp32(halves[at + i] ?? 0)));
    for (let block = 0; block * 32 < rowLength; block++) {
      const i = at + block * 32 + ((row * 7 + block * 3) % 32);
      const sign = fp16ToFp32(halves[i] ?? 0) < 0 ? -1 : 1;
      halves[i] = fp32ToFp16(sign * scale * max);
    }
  }
}

/**
 * Calibration text for the demo model: the stories of its summarisation suite, which are not
 * the held-out perplexity text (suites/data/demo-heldout.txt) the comparison is scored on.
 */
export function demoCalibrationText(): string {
  return readFileSync(join(ROOT, "suites/data/demo-stories.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { story: string }).story)
    .join("\n");
}
