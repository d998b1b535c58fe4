// Serving overhead: TTFT and decode TPS of the same GGUF through the http runner (against
// llama-server where one is built, else the OpenAI-compatible test server) vs the in-process
// llama.cpp runner, side by side; then a load sweep of that server on loopback.
// Run: npx tsc -p tsconfig.json && node dist/bench/http-overhead.js [--model m.gguf]
//   [--llama-server path | --test-server | --url http://…] [--runs 20] [--max-tokens 64] [--threads 1]
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { startManagedServer } from "../src/runner-client/managed-server.js";
import type { GenerateParams, GenerateResult } from "../src/runner-client/protocol.js";
import { resolveRunner } from "../src/runner-client/registry.js";
import { type StartedRunner, startRunner } from "../src/runner-client/start.js";
import { runLoadSweep } from "../src/sweep/load-sweep.js";
import { percentiles } from "../src/sweep/stats.js";
import { formatSweepTable } from "../src/sweep/table.js";

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

const MODEL = arg(
  "--model",
  fileURLToPath(new URL("../../../shared/models/stories260K-f16.gguf", import.meta.url)),
);
const LLAMA_SERVER = arg(
  "--llama-server",
  process.env.QBENCH_LLAMA_SERVER ?? "/opt/llama.cpp-ref/build/bin/llama-server",
);
const USE_LLAMA_SERVER = !process.argv.includes("--test-server") && existsSync(LLAMA_SERVER);
const RUNS = Number(arg("--runs", "20"));
const MAX_TOKENS = Number(arg("--max-tokens", "64"));
const THREADS = arg("--threads", "1");
const CTX = 512;
const PROMPTS = [
  "Once upon a time",
  "One day, Lily",
  "The little dog",
  "Tom and his mom",
  "Ben saw a",
];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const decodeTps = (r: GenerateResult) => (r.completionTokens - 1) / (r.decodeMs / 1000);

function row(
  name: string,
  results: GenerateResult[],
): { ttft: number; tps: number; e2e: number; line: string } {
  const ttft = percentiles(results.map((r) => r.ttftMs));
  const tps = percentiles(results.filter((r) => r.decodeMs > 0).map(decodeTps));
  // Tokens over the whole request: immune to a stream delivering tokens in bursts.
  const e2e = percentiles(results.map((r) => r.completionTokens / (r.totalMs / 1000)));
  const f = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(1)).padStart(10);
  return {
    ttft: ttft?.p50 ?? Number.NaN,
    tps: tps?.p50 ?? Number.NaN,
    e2e: e2e?.p50 ?? Number.NaN,
    line: `${name.padEnd(32)}${f(ttft?.p50)}${f(ttft?.p90)}${f(tps?.p50)}${f(tps?.p90)}${f(e2e?.p50)}`,
  };
}

// --url: a server started by hand. Started here, a managed server runs in its own session,
// which Linux's autogroup scheduler treats as a separate group on a busy machine.
const GIVEN_URL = arg("--url", "");
const port = await freePort();
const url = GIVEN_URL || `http://127.0.0.1:${port}`;
const serverName = GIVEN_URL ? "server (--url)" : USE_LLAMA_SERVER ? "llama-server" : "test server";
const server = GIVEN_URL
  ? undefined
  : await startManagedServer({
      command: USE_LLAMA_SERVER
        ? [
            LLAMA_SERVER,
            "-m",
            MODEL,
            "--host",
            "127.0.0.1",
            "--port",
            String(port),
            "-c",
            String(CTX),
            "-t",
            THREADS,
          ]
        : [
            process.execPath,
            fileURLToPath(new URL("../test/support/openai-server.js", import.meta.url)),
            "--model",
            MODEL,
            "--port",
            String(port),
            "--ctx",
            String(CTX),
          ],
      url,
      readyTimeoutSeconds: 120,
    });
let direct: StartedRunner | undefined;
let http: StartedRunner | undefined;
try {
  const load = { backend: "cpu" as const, contextSize: CTX, seed: 1, threads: Number(THREADS) };
  direct = await startRunner(resolveRunner("cpu", undefined), { ...load, model: MODEL }, 120_000);
  http = await startRunner(resolveRunner("cpu", "http"), { ...load, model: url }, 30_000);
  const params = (i: number): GenerateParams => ({
    prompt: PROMPTS[i % PROMPTS.length] ?? "",
    maxTokens: MAX_TOKENS,
    stop: [],
    temperature: 0,
  });
  for (let i = 0; i < 3; i++) {
    await direct.client.request("generate", params(i));
    await http.client.request("generate", params(i));
  }
  const viaDirect: GenerateResult[] = [];
  const viaHttp: GenerateResult[] = [];
  // Interleaved, so drift in the machine's load hits both sides alike.
  for (let i = 0; i < RUNS; i++) {
    viaDirect.push(await direct.client.request("generate", params(i)));
    viaHttp.push(await http.client.request("generate", params(i)));
  }
  // The in-process runner drops a completion's leading space (it detokenizes the completion
  // alone); servers keep it, so texts are compared without it.
  const same = viaDirect.filter((d, i) => d.text.trimStart() === viaHttp[i]?.text.trimStart());
  console.log(
    `model ${MODEL}, ${RUNS} runs × ${MAX_TOKENS} tokens, greedy, ${THREADS} thread(s), CPU`,
  );
  console.log(`server: ${serverName} (${http.loaded.device})`);
  console.log(`same greedy text on both paths (leading space aside): ${same.length} of ${RUNS}`);
  if (!USE_LLAMA_SERVER) {
    console.log(
      "note: the test server streams only after the runner finished; its TTFT holds the whole decode",
    );
  }
  const head = ["TTFT p50", "TTFT p90", "TPS p50", "TPS p90", "e2e tok/s"];
  console.log(`${"ms; tokens/s".padEnd(32)}${head.map((h) => h.padStart(10)).join("")}`);
  const a = row("in-process llama.cpp runner", viaDirect);
  const b = row(`http runner → ${serverName}`, viaHttp);
  console.log(a.line);
  console.log(b.line);
  console.log(
    `ratio http / in-process: TTFT ×${(b.ttft / a.ttft).toFixed(2)}, decode TPS ×${(b.tps / a.tps).toFixed(2)}, ` +
      `end-to-end tok/s ×${(b.e2e / a.e2e).toFixed(2)}`,
  );

  console.log(
    `\nload sweep of ${serverName} on loopback (${MAX_TOKENS} tokens per request, 16 requests per level):`,
  );
  const models = (await (await fetch(`${url}/v1/models`)).json()) as {
    data: Array<{ id: string }>;
  };
  const results = await runLoadSweep({
    target: { baseUrl: url, model: models.data[0]?.id ?? "", chat: false, timeoutSeconds: 60 },
    prompts: PROMPTS,
    maxTokens: MAX_TOKENS,
    temperature: 0,
    levels: [
      { concurrency: 1 },
      { concurrency: 2 },
      { concurrency: 4 },
      { concurrency: 8 },
      { rate: 8 },
      { rate: 32 },
    ],
    requestsPerLevel: 16,
    maxSecondsPerLevel: 30,
    budgets: { ttftMs: 50, itlMs: 5 },
    seed: 1,
    warmup: 2,
  });
  console.log(formatSweepTable(results));
  console.log("good = share of requests with TTFT ≤ 50 ms and TPOT ≤ 5 ms");
} finally {
  await http?.client.stop();
  await direct?.client.stop();
  await server?.stop();
}
