/** The protocol's `generate` on the GPU graph: greedy decoding, timed by the runner kit's loop. */
import type { GenerateParams, GenerateResult } from "../../src/runner-client/protocol.js";
import { generateTimed } from "../shared/generate.js";
import { RunnerError } from "../shared/serve.js";
import { prefill, type Session } from "./session.js";

export async function generate(
  state: Session,
  params: GenerateParams,
  receivedAt: number,
): Promise<GenerateResult> {
  if (params.temperature > 0) {
    throw new RunnerError("BAD_PARAMS", "the WebGPU runner samples greedily only (temperature 0)");
  }
  const { graph, tokenizer } = state;
  return generateTimed(
    {
      contextSize: graph.contextSize,
      tokenize: (text) => {
        const prompt = tokenizer.tokenize(text, true);
        if (prompt.length === 0) throw new RunnerError("BAD_PARAMS", "the prompt has no tokens");
        return prompt;
      },
      decode: async function* (prompt) {
        let token = await prefill(graph, prompt);
        for (let pos = prompt.length; ; pos++) {
          yield token;
          token = await graph.nextToken([token], pos);
        }
      },
      isEndOfGeneration: (token) => tokenizer.isEndOfGeneration(token),
      detokenize: (completion, prompt) => tokenizer.detokenize(completion, prompt),
    },
    params,
    receivedAt,
  );
}
