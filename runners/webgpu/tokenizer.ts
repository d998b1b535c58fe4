/**
 * Tokenization exactly as llama.cpp does it for the same file: node-llama-cpp loads the model's
 * vocabulary only (no weights), so BOS handling, special tokens and detokenization all match.
 */
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel, type Token } from "node-llama-cpp";

export class Tokenizer {
  private readonly llama: Llama;
  private readonly model: LlamaModel;
  /** Whether llama.cpp prepends BOS for this model. */
  readonly addBos: boolean;
  readonly bos: number | null;

  private constructor(llama: Llama, model: LlamaModel) {
    this.llama = llama;
    this.model = model;
    this.bos = model.tokens.bos;
    this.addBos = model.tokens.shouldPrependBosToken && model.tokens.bos != null;
  }

  static async open(modelPath: string): Promise<Tokenizer> {
    const llama = await getLlama({
      gpu: false,
      build: "never",
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}\n`),
    });
    try {
      const model = await llama.loadModel({ modelPath, vocabOnly: true });
      return new Tokenizer(llama, model);
    } catch (error) {
      await llama.dispose();
      throw error;
    }
  }

  tokenize(text: string, addBos: boolean): number[] {
    const tokens = this.model.tokenize(text, false) as number[];
    return addBos && this.addBos && this.bos != null ? [this.bos, ...tokens] : tokens;
  }

  /** With the tokens before them as context, SentencePiece keeps a completion's leading space. */
  detokenize(tokens: readonly number[], context: readonly number[] = []): string {
    return this.model.detokenize(tokens as Token[], false, context as Token[]);
  }

  isEndOfGeneration(token: number): boolean {
    return this.model.isEogToken(token as Token);
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
    await this.llama.dispose();
  }
}
