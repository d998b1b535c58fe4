import { parentPort } from "node:worker_threads";
import { convertSlab, Scratch } from "./convert-slab.js";
import type { SlabMessage } from "./slab-converter.js";

// A worker of slab-converter.ts: converts the rows it is handed, in buffers shared with the main thread.
const floats = new Scratch();
parentPort?.on("message", (m: SlabMessage) => {
  const check = convertSlab(
    {
      source: m.source,
      target: m.target,
      input: new Uint8Array(m.input, m.inputOffset, m.inputLength),
      output:
        m.output === undefined
          ? undefined
          : new Uint8Array(m.output, m.outputOffset, m.outputLength),
      imatrix: m.imatrix,
    },
    floats,
  );
  parentPort?.postMessage({ id: m.id, ...check });
});
