import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** Where `native/build.mjs` (run at npm install) puts the native scorer, from dist/lib/native/. */
export const SCORER_ADDON = fileURLToPath(
  new URL("../../../native/build/qbench-scorer.node", import.meta.url),
);
const NODE_LLAMA_CPP = fileURLToPath(
  new URL("../../../node_modules/node-llama-cpp/package.json", import.meta.url),
);

/** The addon's exports, as native/scorer.cc defines them. */
export interface ScorerAddon {
  /**
   * `new Scorer(model._model, context._ctx, modelPath[, shared])`: node-llama-cpp's internal
   * objects; with `shared` = {sequences, contextSize}, one unified KV cache (multiple choice).
   */
  Scorer: new (
    model: object,
    context: object,
    modelPath: string,
    shared?: { sequences: number; contextSize: number },
  ) => unknown;
  /** The node-llama-cpp version whose addon layout it was compiled against. */
  nodeLlamaCppVersion: string;
}

/**
 * The native scorer's addon, or why it is not used: switched off (`QBENCH_NATIVE_SCORER=0`), not
 * built, or built for another node-llama-cpp. Load node-llama-cpp's own addon first (getLlama):
 * this one links its llama.cpp library without a path and binds to the loaded one.
 */
export function loadScorerAddon(
  env: NodeJS.ProcessEnv,
): { addon: ScorerAddon } | { addon?: undefined; reason: string } {
  if (env.QBENCH_NATIVE_SCORER === "0") return { reason: "off: QBENCH_NATIVE_SCORER=0" };
  let addon: ScorerAddon;
  try {
    addon = createRequire(import.meta.url)(SCORER_ADDON) as ScorerAddon;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND";
    return {
      reason: missing
        ? "not built (npm install builds it where a C++ compiler is found: node native/build.mjs)"
        : `failed to load: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    };
  }
  const version = (JSON.parse(readFileSync(NODE_LLAMA_CPP, "utf8")) as { version: string }).version;
  if (version !== addon.nodeLlamaCppVersion) {
    return {
      reason: `off: built for node-llama-cpp ${addon.nodeLlamaCppVersion}, this is ${version}`,
    };
  }
  return { addon };
}
