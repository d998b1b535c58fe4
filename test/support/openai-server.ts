#!/usr/bin/env node
/**
 * A small OpenAI-compatible test server over the real llama.cpp runner, for tests and benches
 * where llama-server cannot be built (CI). It is not llama-server: it generates the whole
 * completion with the runner first, then streams the text as SSE chunks of one word each, back
 * to back, with the runner's real token counts in `usage`. So its TTFT includes the whole decode
 * and its inter-token gaps are near zero — fine for protocol tests, not for speed figures.
 *
 * Speaks /v1/completions and /v1/chat/completions (streamed or not), /tokenize and prompt
 * log-probs in vLLM's shapes (`prompt_logprobs`), SGLang's native /generate with
 * `return_logprob`, /health and /v1/models. Faults can be injected per request for error tests.
 *
 * Standalone: node dist/test/support/openai-server.js --model m.gguf [--port 0] [--ctx 256]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import type { RunnerClient } from "../../src/runner-client/client.js";
import type { FinishReason } from "../../src/runner-client/protocol.js";
import { resolveRunner } from "../../src/runner-client/registry.js";
import { startRunner } from "../../src/runner-client/start.js";

/** What the next completion request(s) should suffer. */
export interface Fault {
  /** Answer this status instead (e.g. 429, 503, 500). */
  status?: number;
  /** Seconds for a Retry-After header with `status`. */
  retryAfter?: number;
  /** Send this many token events, then destroy the connection. */
  dropAfterEvents?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Leave out the usage chunk. */
  omitUsage?: boolean;
  /** How many requests the fault applies to (default 1). */
  times?: number;
}

export interface TestServerOptions {
  model: string;
  port?: number;
  contextSize?: number;
  /** The id /v1/models lists. */
  modelName?: string;
}

interface Generated {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finish: "stop" | "length";
  stopReason: string | null | undefined;
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      try {
        const text = Buffer.concat(parts).toString("utf8");
        resolve(text === "" ? {} : (JSON.parse(text) as Record<string, unknown>));
      } catch (error) {
        reject(error);
      }
    });
    req.on("error", reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** One word per piece, leading spaces kept, so the pieces join back to the text exactly. */
export function wordPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function stopList(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === "string") : [];
}

export class OpenAiTestServer {
  readonly url: string;
  readonly port: number;
  /** Completion requests being answered right now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  completionRequests = 0;
  private readonly faults: Fault[] = [];

  private constructor(
    private readonly server: Server,
    private readonly runner: RunnerClient,
    private readonly modelName: string,
    private readonly contextSize: number,
  ) {
    this.port = (server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  static async start(options: TestServerOptions): Promise<OpenAiTestServer> {
    const contextSize = options.contextSize ?? 256;
    const started = await startRunner(
      resolveRunner("cpu", undefined),
      { model: options.model, backend: "cpu", contextSize, seed: 1, threads: 1 },
      60_000,
    );
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
    const instance = new OpenAiTestServer(
      server,
      started.client,
      options.modelName ?? "stories-test",
      contextSize,
    );
    server.on("request", (req, res) => {
      instance.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: (error as Error).message } });
        else res.destroy();
      });
    });
    return instance;
  }

  get runnerPid(): number | undefined {
    return this.runner.pid;
  }

  /** Queues a fault for the next completion request(s), first in first out. */
  inject(fault: Fault): void {
    for (let i = 0; i < (fault.times ?? 1); i++) this.faults.push(fault);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.runner.stop();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: [
          {
            id: this.modelName,
            object: "model",
            owned_by: "qbench-test-server",
            max_model_len: this.contextSize,
          },
        ],
      });
    }
    if (req.method !== "POST")
      return sendJson(res, 404, { error: { message: `no route ${path}` } });
    const body = await readBody(req);
    if (path === "/tokenize") return this.tokenize(body, res);
    if (path === "/generate") return this.sglangGenerate(body, res);
    if (path === "/v1/completions" && Array.isArray(body.prompt))
      return this.promptLogprobs(body, res);
    if (path === "/v1/completions" || path === "/v1/chat/completions") {
      return this.completion(body, res, path === "/v1/chat/completions");
    }
    sendJson(res, 404, { error: { message: `no route ${path}` } });
  }

  private async tokenize(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    // vLLM sends `prompt` and `add_special_tokens`; llama-server sends `content` and `add_special`.
    const { tokens } = await this.runner.request("tokenize", {
      text: String(body.prompt ?? body.content ?? ""),
      addBos: body.add_special_tokens !== false && body.add_special !== false,
    });
    sendJson(res, 200, { tokens, count: tokens.length, max_model_len: this.contextSize });
  }

  /** vLLM's shape: choices[0].prompt_logprobs[i] = {id: {logprob, rank}}, null first. */
  private async promptLogprobs(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const tokens = body.prompt as number[];
    const topK = Number(body.prompt_logprobs ?? 0);
    const out = await this.runner.request("evaluate", { tokens, scoreFrom: 1, topK });
    const positions = [
      null,
      ...out.scored.map((s, i) => {
        const entry: Record<string, { logprob: number; rank: number }> = {};
        (s.top ?? []).forEach(([id, logprob], r) => {
          entry[String(id)] = { logprob, rank: r + 1 };
        });
        const actual = String(tokens[i + 1]);
        if (!(actual in entry)) entry[actual] = { logprob: s.logprob, rank: topK + 1 };
        return entry;
      }),
    ];
    sendJson(res, 200, {
      object: "text_completion",
      model: this.modelName,
      choices: [{ index: 0, text: "", finish_reason: "length", prompt_logprobs: positions }],
      usage: { prompt_tokens: tokens.length, completion_tokens: 0, total_tokens: tokens.length },
    });
  }

  /** SGLang's native shape: meta_info.input_token_logprobs = [[logprob|null, id, null], …]. */
  private async sglangGenerate(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const tokens = body.input_ids as number[];
    const topK = Number(body.top_logprobs_num ?? 0);
    const out = await this.runner.request("evaluate", { tokens, scoreFrom: 1, topK });
    sendJson(res, 200, {
      text: "",
      meta_info: {
        prompt_tokens: tokens.length,
        completion_tokens: 0,
        input_token_logprobs: tokens.map((id, i) => [
          i === 0 ? null : (out.scored[i - 1]?.logprob ?? null),
          id,
          null,
        ]),
        input_top_logprobs: tokens.map((_, i) =>
          i === 0 ? null : (out.scored[i - 1]?.top ?? []).map(([id, lp]) => [lp, id, null]),
        ),
      },
    });
  }

  private async generate(prompt: string, body: Record<string, unknown>): Promise<Generated> {
    const stop = stopList(body.stop);
    const out = await this.runner.request("generate", {
      prompt,
      maxTokens: Number(body.max_tokens ?? 16),
      stop,
      temperature: Number(body.temperature ?? 1),
      ...(typeof body.seed === "number" ? { seed: body.seed } : {}),
    });
    const reason: FinishReason = out.finishReason;
    return {
      text: out.text,
      promptTokens: out.promptTokens,
      completionTokens: out.completionTokens,
      finish: reason === "length" ? "length" : "stop",
      // vLLM's convention: a stop string for a stop-string finish (the runner does not say
      // which one matched, so the first stands for any), null for EOS.
      stopReason: reason === "stop" ? stop[0] : reason === "eos" ? null : undefined,
    };
  }

  private async completion(
    body: Record<string, unknown>,
    res: ServerResponse,
    chat: boolean,
  ): Promise<void> {
    this.completionRequests++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const fault = this.faults.shift();
      if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.status) {
        const headers: Record<string, string> =
          fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) };
        return sendJson(
          res,
          fault.status,
          { error: { message: `injected ${fault.status}`, code: fault.status } },
          headers,
        );
      }
      const prompt = chat
        ? ((body.messages as Array<{ content?: string }> | undefined) ?? [])
            .map((m) => m.content ?? "")
            .join("\n")
        : String(body.prompt ?? "");
      const out = await this.generate(prompt, body);
      const usage = {
        prompt_tokens: out.promptTokens,
        completion_tokens: out.completionTokens,
        total_tokens: out.promptTokens + out.completionTokens,
      };
      const choiceOf = (text: string, finish: string | null) =>
        chat
          ? { index: 0, delta: finish ? {} : { content: text }, finish_reason: finish }
          : {
              index: 0,
              text,
              finish_reason: finish,
              ...(finish ? { stop_reason: out.stopReason } : {}),
            };
      if (body.stream !== true) {
        const choice = chat
          ? {
              index: 0,
              message: { role: "assistant", content: out.text },
              finish_reason: out.finish,
            }
          : { index: 0, text: out.text, finish_reason: out.finish, stop_reason: out.stopReason };
        return sendJson(res, 200, {
          object: chat ? "chat.completion" : "text_completion",
          choices: [choice],
          usage,
        });
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      // Each event is flushed before the next, so a drop comes after the client has them.
      const event = (payload: unknown) =>
        new Promise<void>((resolve) =>
          res.write(`data: ${JSON.stringify(payload)}\n\n`, () => resolve()),
        );
      const object = chat ? "chat.completion.chunk" : "text_completion";
      if (chat)
        await event({
          object,
          choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }],
        });
      let sent = 0;
      for (const piece of wordPieces(out.text)) {
        if (fault?.dropAfterEvents !== undefined && sent >= fault.dropAfterEvents) {
          await new Promise((r) => setTimeout(r, 20));
          res.socket?.destroy();
          return;
        }
        await event({ object, choices: [choiceOf(piece, null)] });
        sent++;
      }
      if (fault?.dropAfterEvents !== undefined) {
        res.socket?.destroy();
        return;
      }
      await event({ object, choices: [choiceOf("", out.finish)] });
      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)
        ?.include_usage;
      if (includeUsage && !fault?.omitUsage) await event({ object, choices: [], usage });
      res.end("data: [DONE]\n\n");
    } finally {
      this.inFlight--;
    }
  }
}

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const model = argValue("--model");
  if (!model) {
    process.stderr.write("usage: openai-server --model file.gguf [--port 0] [--ctx 256]\n");
    process.exitCode = 2;
  } else {
    const server = await OpenAiTestServer.start({
      model,
      port: Number(argValue("--port") ?? 0),
      contextSize: Number(argValue("--ctx") ?? 256),
    });
    // One line a parent can parse: where it listens and its runner child's pid.
    process.stdout.write(
      `${JSON.stringify({ url: server.url, pid: process.pid, runnerPid: server.runnerPid })}\n`,
    );
    const stop = () => {
      void server.close().then(() => process.exit(0));
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  }
}
